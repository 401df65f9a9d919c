//! Chinese numerals (二百六十四, 两千, 3.5万, full-width ２６４) and prison terms (一年六个月).

/// Converts full-width digits and punctuation used in numbers to ASCII.
pub fn to_halfwidth_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '．' => '.',
            '，' | ',' => ',',
            _ => c,
        })
        .collect()
}

fn cn_digit(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' | 'Ｏ' | 'O' | 'o' => 0,
        '一' | '壹' => 1,
        '二' | '两' | '贰' => 2,
        '三' | '叁' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' => 6,
        '七' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '玖' => 9,
        _ => return None,
    })
}

fn small_unit(c: char) -> Option<f64> {
    Some(match c {
        '十' | '拾' => 10.0,
        '百' | '佰' => 100.0,
        '千' | '仟' => 1000.0,
        _ => return None,
    })
}

/// Parses an integer written in Chinese numerals, Arabic digits, or a mix:
/// `二百六十四` → 264, `两千` → 2000, `一万零五百` → 10500, `1万` → 10000,
/// `3.5万` → 35000, `２６４` → 264, `5,000` → 5000, `二〇一七` → 2017.
///
/// Returns `None` for empty input, unknown characters, or a non-integral result (`3.5`).
pub fn parse_cn_int(s: &str) -> Option<u64> {
    let s = to_halfwidth_digits(s.trim());
    if s.is_empty() {
        return None;
    }
    let chars: Vec<char> = s.chars().filter(|&c| c != ',').collect();
    let mut total = 0.0f64; // completed 亿 groups
    let mut wan = 0.0f64; // completed 万 groups below 亿
    let mut sec = 0.0f64; // below 万
    let mut cur: Option<f64> = None;
    let mut seen_any = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            cur = Some(run.parse::<f64>().ok()?);
            seen_any = true;
            continue;
        }
        if let Some(d) = cn_digit(c) {
            cur = Some(cur.map_or(d as f64, |v| v * 10.0 + d as f64));
            seen_any = true;
        } else if let Some(u) = small_unit(c) {
            sec += cur.unwrap_or(1.0) * u;
            cur = None;
            seen_any = true;
        } else if c == '万' || c == '萬' {
            if !seen_any {
                return None;
            }
            wan += (sec + cur.unwrap_or(0.0)) * 1e4;
            sec = 0.0;
            cur = None;
        } else if c == '亿' || c == '億' {
            if !seen_any {
                return None;
            }
            total += (wan + sec + cur.unwrap_or(0.0)) * 1e8;
            wan = 0.0;
            sec = 0.0;
            cur = None;
        } else {
            return None;
        }
        i += 1;
    }
    if !seen_any {
        return None;
    }
    let v = total + wan + sec + cur.unwrap_or(0.0);
    let rounded = v.round();
    ((v - rounded).abs() < 1e-6 && (0.0..1.8e19).contains(&rounded)).then_some(rounded as u64)
}

/// Parses a prison term into months: `一年六个月` → 18, `六个月` → 6, `二年` → 24,
/// `1年6个月` → 18, `十个月` → 10, `一年零六个月` → 18, `一年半` → 18.
/// Trailing days (`零二日`) are ignored. `None` when neither years nor months are found.
pub fn parse_term_months(s: &str) -> Option<u32> {
    let s = s.trim();
    let (years_part, rest) = match s.find('年') {
        Some(i) => (&s[..i], &s[i + '年'.len_utf8()..]),
        None => ("", s),
    };
    let mut months: u64 = 0;
    let mut found = false;
    if !years_part.is_empty() {
        months += parse_cn_int(years_part)?.checked_mul(12)?;
        found = true;
    }
    let rest = rest.trim_start_matches(['零', '又']);
    if let Some(stripped) = rest.strip_prefix('半') {
        if found && (stripped.is_empty() || stripped.starts_with('零')) {
            months += 6;
        }
    } else if let Some(i) = rest.find('月') {
        let m = rest[..i].trim_end_matches('个');
        months += parse_cn_int(m)?;
        found = true;
    } else if !rest.trim_start_matches(['零']).is_empty() && !found {
        return None;
    }
    if found {
        u32::try_from(months).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_integers() {
        assert_eq!(parse_cn_int("二百六十四"), Some(264));
        assert_eq!(parse_cn_int("十"), Some(10));
        assert_eq!(parse_cn_int("十五"), Some(15));
        assert_eq!(parse_cn_int("二十"), Some(20));
        assert_eq!(parse_cn_int("一百零五"), Some(105));
        assert_eq!(parse_cn_int("二百零一"), Some(201));
        assert_eq!(parse_cn_int("两千"), Some(2000));
        assert_eq!(parse_cn_int("五千"), Some(5000));
        assert_eq!(parse_cn_int("一万零五百"), Some(10500));
        assert_eq!(parse_cn_int("三十万"), Some(300_000));
        assert_eq!(parse_cn_int("一亿二千万"), Some(120_000_000));
        assert_eq!(parse_cn_int("二〇一七"), Some(2017));
        assert_eq!(parse_cn_int("〇"), Some(0));
        assert_eq!(parse_cn_int("零"), Some(0));
    }

    #[test]
    fn arabic_and_mixed() {
        assert_eq!(parse_cn_int("264"), Some(264));
        assert_eq!(parse_cn_int("２６４"), Some(264));
        assert_eq!(parse_cn_int("1万"), Some(10_000));
        assert_eq!(parse_cn_int("3.5万"), Some(35_000));
        assert_eq!(parse_cn_int("5,000"), Some(5000));
        assert_eq!(parse_cn_int("1.2亿"), Some(120_000_000));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse_cn_int(""), None);
        assert_eq!(parse_cn_int("万"), None);
        assert_eq!(parse_cn_int("abc"), None);
        assert_eq!(parse_cn_int("三条"), None);
        assert_eq!(parse_cn_int("3.5"), None);
    }

    #[test]
    fn terms() {
        assert_eq!(parse_term_months("一年六个月"), Some(18));
        assert_eq!(parse_term_months("六个月"), Some(6));
        assert_eq!(parse_term_months("二年"), Some(24));
        assert_eq!(parse_term_months("1年6个月"), Some(18));
        assert_eq!(parse_term_months("十个月"), Some(10));
        assert_eq!(parse_term_months("一年零六个月"), Some(18));
        assert_eq!(parse_term_months("十五年"), Some(180));
        assert_eq!(parse_term_months("一年半"), Some(18));
        assert_eq!(parse_term_months("五个月零二日"), Some(5));
        assert_eq!(parse_term_months(""), None);
        assert_eq!(parse_term_months("很久"), None);
    }
}
