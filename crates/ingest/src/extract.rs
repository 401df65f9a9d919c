//! Field extraction from the full text of a Chinese judgment: court, 案号, category,
//! document type, charges, statutes, sentence and the facts / reasoning / result sections.
//!
//! Extraction is heuristic and never fails: a field that cannot be found stays empty.
//! For judgments with several defendants the sentence is the FIRST defendant's (the first
//! `判处…` clause, preferring a `决定执行…` total within that defendant's clause). When the
//! text has no own result section (appeal texts are often cut before `本院认为`), the
//! sentence and charges come from the quoted first-instance judgment or the indictment.

use crate::case::{
    AuthorityTier, Case, CaseCategory, CaseId, CaseNumber, CourtLevel, JudgmentDate, MainPenalty,
    Sentence,
};
use crate::numerals::{parse_cn_int, parse_term_months, to_halfwidth_digits};
use crate::statute::find_statute_refs;
use regex::Regex;
use std::sync::LazyLock;

const PROVINCES: &[&str] = &[
    "北京",
    "天津",
    "上海",
    "重庆",
    "河北",
    "山西",
    "辽宁",
    "吉林",
    "黑龙江",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "海南",
    "四川",
    "贵州",
    "云南",
    "陕西",
    "甘肃",
    "青海",
    "台湾",
    "内蒙古",
    "广西",
    "西藏",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
];

/// Province abbreviations used as the first character of modern court codes (`琼97`).
const PROVINCE_CODES: &[(char, &str)] = &[
    ('京', "北京"),
    ('津', "天津"),
    ('沪', "上海"),
    ('渝', "重庆"),
    ('冀', "河北"),
    ('晋', "山西"),
    ('辽', "辽宁"),
    ('吉', "吉林"),
    ('黑', "黑龙江"),
    ('苏', "江苏"),
    ('浙', "浙江"),
    ('皖', "安徽"),
    ('闽', "福建"),
    ('赣', "江西"),
    ('鲁', "山东"),
    ('豫', "河南"),
    ('鄂', "湖北"),
    ('湘', "湖南"),
    ('粤', "广东"),
    ('琼', "海南"),
    ('川', "四川"),
    ('黔', "贵州"),
    ('滇', "云南"),
    ('云', "云南"),
    ('陕', "陕西"),
    ('甘', "甘肃"),
    ('青', "青海"),
    ('内', "内蒙古"),
    ('桂', "广西"),
    ('藏', "西藏"),
    ('宁', "宁夏"),
    ('新', "新疆"),
];

/// Charges whose statutory name itself contains `、` (选择性罪名), matched before splitting.
const COMPOUND_CHARGES: &[&str] = &[
    "非法收购、运输、加工、出售国家重点保护植物、国家重点保护植物制品罪",
    "非法收购、运输、出售珍贵、濒危野生动物、珍贵、濒危野生动物制品罪",
    "非法制造、买卖、运输、邮寄、储存枪支、弹药、爆炸物罪",
    "非法携带枪支、弹药、管制刀具、危险物品危及公共安全罪",
    "虚开增值税专用发票、用于骗取出口退税、抵扣税款发票罪",
    "隐匿、故意销毁会计凭证、会计帐簿、财务会计报告罪",
    "隐匿、故意销毁会计凭证、会计账簿、财务会计报告罪",
    "故意销毁会计凭证、会计账簿、财务会计报告罪",
    "伪造公司、企业、事业单位、人民团体印章罪",
    "盗窃、抢夺枪支、弹药、爆炸物、危险物质罪",
    "伪造、变造、买卖国家机关公文、证件、印章罪",
    "伪造、变造、买卖武装部队公文、证件、印章罪",
    "制作、复制、出版、贩卖、传播淫秽物品牟利罪",
    "非法买卖、运输、携带、持有毒品原植物种子、幼苗罪",
    "组织、强迫、引诱、容留、介绍卖淫罪",
    "走私、贩卖、运输、制造毒品罪",
    "掩饰、隐瞒犯罪所得、犯罪所得收益罪",
    "组织、领导、参加黑社会性质组织罪",
    "非法制造、买卖、运输、储存危险物质罪",
    "窝藏、转移、隐瞒毒品、毒赃罪",
    "非法持有、私藏枪支、弹药罪",
    "骗取贷款、票据承兑、金融票证罪",
    "提供侵入、非法控制计算机信息系统程序、工具罪",
    "非法收购、运输盗伐、滥伐的林木罪",
    "非法猎捕、杀害珍贵、濒危野生动物罪",
    "生产、销售伪劣农药、兽药、化肥、种子罪",
    "生产、销售有毒、有害食品罪",
    "生产、销售不符合安全标准的食品罪",
    "聚众扰乱公共场所秩序、交通秩序罪",
    "破坏广播电视设施、公用电信设施罪",
    "窃取、收买、非法提供信用卡信息罪",
    "非法采伐、毁坏国家重点保护植物罪",
    "非法转让、倒卖土地使用权罪",
    "拒不执行判决、裁定罪",
    "生产、销售伪劣产品罪",
    "生产、销售假药罪",
    "伪造、变造金融票证罪",
    "伪造、变造居民身份证罪",
    "伪造、倒卖伪造的有价票证罪",
    "出售、购买、运输假币罪",
    "编造、故意传播虚假恐怖信息罪",
    "盗掘古文化遗址、古墓葬罪",
    "盗窃、侮辱尸体罪",
    "强制猥亵、侮辱妇女罪",
    "帮助毁灭、伪造证据罪",
    "拐卖妇女、儿童罪",
    "收买被拐卖的妇女、儿童罪",
    "走私普通货物、物品罪",
    "走私武器、弹药罪",
    "引诱、容留、介绍卖淫罪",
    "容留、介绍卖淫罪",
    "引诱、介绍卖淫罪",
    "组织、领导传销活动罪",
    "窝藏、包庇罪",
    "伪造公司、企业印章罪",
    "虚假出资、抽逃出资罪",
    "倒卖车票、船票罪",
    "劫持船只、汽车罪",
    "非法生产、买卖警用装备罪",
];

/// Verb segments that never stand alone as a charge: `贩卖、运输毒品罪` is one charge.
const JOINING_VERBS: &[&str] = &[
    "走私",
    "贩卖",
    "运输",
    "制造",
    "非法制造",
    "买卖",
    "非法买卖",
    "邮寄",
    "储存",
    "非法储存",
    "非法持有",
    "私藏",
    "非法私藏",
    "生产",
    "销售",
    "掩饰",
    "隐瞒",
    "掩饰隐瞒",
    "伪造",
    "变造",
    "组织",
    "领导",
    "引诱",
    "容留",
    "收购",
    "非法收购",
    "出售",
    "加工",
    "窝藏",
    "转移",
    "隐匿",
    "非法转让",
    "非法倒卖",
    "倒卖",
    "骗取贷款",
    "非法采伐",
    "非法猎捕",
    "编造",
    "制作",
    "复制",
    "出版",
    "教唆",
    "强迫",
    "帮助毁灭",
    "窃取",
    "收买",
];

static COURT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\p{Han}]{2,40}?(?:人民法院|基层法院)(?:[\p{Han}]{2,12}?分院)?|[\p{Han}]{2,20}?(?:知识产权法院|金融法院|铁路运输法院|海事法院)")
        .expect("court regex")
});
static DOC_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(刑事|民事|行政|执行|国家赔偿)?(?:附带民事)?(判决书|裁定书|调解书|决定书|通知书|支付令)",
    )
    .expect("doc type regex")
});
static CASE_NO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[（(〔\[]\s*([12][09]\d\d)\s*[）)〕\]]\s*([^\s号，。、；：:,;]{1,30}?)第?\s*([0-9０-９]{1,7})\s*号")
        .expect("case number regex")
});
static PROCEDURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(刑|民|行|执|赔)[一二三四五六七八九十0-9]*(初|终|更|监|再|申|核|抗|辖|特|恢|异|复|保|提|他|督|破|清)?")
        .expect("procedure regex")
});
static CHARGE: LazyLock<Regex> = LazyLock::new(|| {
    // One charge name: Han characters other than 犯/罪 (but 犯罪所得 is allowed inside).
    let name = r"(?:犯罪所得|[\p{Han}--[犯罪]]){1,30}";
    Regex::new(&format!(
        r"(?:犯|涉嫌|构成)((?:{name}、)*{name}罪(?:、(?:{name}、)*{name}罪)*)"
    ))
    .expect("charge regex")
});
static CHARGE_LIST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"指控罪名[:：]\s*([\p{Han}、]{2,80})").expect("charge list regex")
});
static INDICTMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"指控[^。]{0,300}?(?:一案|，于|,于|向本院|提起公诉|。)").expect("indictment regex")
});
static TERM: &str = r"[零〇一二两三四五六七八九十百0-9０-９]+年(?:零|又)?(?:[零〇一二两三四五六七八九十0-9０-９]+个?月)?|[零〇一二两三四五六七八九十0-9０-９]+个?月";
static MAIN_PENALTY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"死刑|无期徒刑|(有期徒刑|拘役|管制)({TERM})|免予刑事处罚|单处罚金|判处罚金"
    ))
    .expect("penalty regex")
});
static PROBATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"缓刑({TERM})")).expect("probation regex"));
static FINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"罚金(?:人民币)?\s*([0-9０-９.,，．]+万?|[零〇一二两三四五六七八九十百千万]+)\s*元")
        .expect("fine regex")
});
static CN_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([二〇零○Ｏ一三四五六七八九0-9]{4})年([一二三四五六七八九十0-9]{1,3})月([一二三四五六七八九十0-9]{1,3})日")
        .expect("date regex")
});

/// Builds a case from a judgment's full text. The full text is kept in `full_text`.
pub fn extract_case(id: CaseId, text: &str) -> Case {
    let mut case = Case::new(id);
    fill_from_text(&mut case, text);
    case
}

/// Fills the fields of `case` that are still empty from a judgment's full text; fields
/// already set are left alone. Also sets `full_text` when empty and the tier from the
/// court level when the tier is still the default.
pub fn fill_from_text(case: &mut Case, text: &str) {
    if case.full_text.is_empty() {
        case.full_text = text.to_string();
    }
    let header_end = char_boundary(text, 600);
    let header = &text[..header_end];
    let court_match = find_court(header);
    if case.court.is_none() {
        case.court = court_match.as_ref().map(|(c, _, _)| c.clone());
    }
    if case.title.is_empty() {
        case.title = match &court_match {
            Some((_, start, _)) if header[..*start].ends_with('书') => {
                header[..*start].to_string()
            }
            Some((court, _, end)) => {
                let dt = DOC_TYPE.find(&header[*end..]).filter(|m| m.start() == 0);
                format!("{court}{}", dt.map_or("", |m| m.as_str()))
            }
            None => String::new(),
        };
    }
    if case.court_level.is_none() {
        case.court_level = case.court.as_deref().and_then(court_level);
    }
    if case.case_number.is_none() {
        case.case_number = parse_case_number(header).or_else(|| parse_case_number(text));
    }
    if case.region.is_none() {
        case.region = case
            .court
            .as_deref()
            .and_then(province_in)
            .or_else(|| case.case_number.as_ref().and_then(region_from_case_number))
            .or_else(|| province_in(header));
    }
    if case.doc_type.is_none() {
        let after = court_match.as_ref().map_or(0, |(_, _, e)| *e);
        case.doc_type = DOC_TYPE
            .captures(&header[after..])
            .or_else(|| DOC_TYPE.captures(header))
            .and_then(|c| c.get(2))
            .map(|m| m.as_str().to_string());
    }
    if case.category == CaseCategory::Other {
        case.category = category_of(case.case_number.as_ref(), header);
    }
    let (facts, reasoning, result) = split_sections(text);
    if case.sections.facts.is_empty() {
        case.sections.facts = facts;
    }
    if case.sections.reasoning.is_empty() {
        case.sections.reasoning = reasoning;
    }
    if case.sections.result.is_empty() {
        case.sections.result = result;
    }
    if case.charges.is_empty() {
        case.charges = find_charges(text, &case.sections.result, &case.title);
    }
    if case.statutes.is_empty() {
        case.statutes = find_statute_refs(text);
    }
    if case.sentence.is_empty() && case.category == CaseCategory::Criminal {
        let from_result = find_sentence(&case.sections.result);
        case.sentence = if from_result.is_empty() {
            find_sentence(text)
        } else {
            from_result
        };
    }
    if case.date.is_none() {
        case.date = find_judgment_date(text);
    }
    if case.tier == AuthorityTier::Other {
        case.tier = AuthorityTier::from_court_level(case.court_level);
    }
}

fn char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The deciding court as (name, start, end) in `header`: the first `…人民法院`, with a
/// leading document title (`…刑事判决书`) cut off.
fn find_court(header: &str) -> Option<(String, usize, usize)> {
    let m = COURT.find(header)?;
    let mut start = m.start();
    let s = m.as_str();
    // A title glued in front ("…二审刑事判决书河北省…人民法院"): keep what follows the last 书.
    if let Some(i) = s.rfind('书') {
        start = m.start() + i + '书'.len_utf8();
    } else if let Some(p) = PROVINCES.iter().filter_map(|p| s.find(p)).min() {
        start = m.start() + p;
    }
    let name = &header[start..m.end()];
    (name.chars().count() >= 4).then(|| (name.to_string(), start, m.end()))
}

/// Court level from a court name; a high court's branch (`…高级人民法院…分院`) is
/// intermediate.
pub fn court_level(court: &str) -> Option<CourtLevel> {
    if court.ends_with("分院") && court.contains("高级人民法院") {
        return Some(CourtLevel::Intermediate);
    }
    if court.ends_with("基层法院") {
        return Some(CourtLevel::Basic);
    }
    CourtLevel::from_court_name(court)
}

/// The province-level region a name starts with or contains (`海南省第二中级人民法院` → `海南`).
pub fn province_in(s: &str) -> Option<String> {
    PROVINCES
        .iter()
        .filter_map(|p| {
            let i = s.find(p)?;
            let rest = &s[i + p.len()..];
            let ok = ["省", "市", "自治区", "壮族", "回族", "维吾尔"]
                .iter()
                .any(|x| rest.starts_with(x))
                || (i == 0 && s.ends_with("法院"));
            ok.then_some((i, *p))
        })
        .min()
        .map(|(_, p)| p.to_string())
}

fn region_from_case_number(n: &CaseNumber) -> Option<String> {
    let code = n.court_code.as_deref()?;
    let first = code.chars().next()?;
    // Only modern codes (province char + digits) are reliable: 琼97, 粤1302.
    if !code.chars().nth(1).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    PROVINCE_CODES
        .iter()
        .find(|(c, _)| *c == first)
        .map(|(_, p)| p.to_string())
}

/// Parses the first case number (案号) in `text`, new style `（2016）琼97刑终22号` or old
/// style `（2015）儋刑初字第389号`.
pub fn parse_case_number(text: &str) -> Option<CaseNumber> {
    for caps in CASE_NO.captures_iter(text) {
        let (Some(raw), Some(year), Some(mid), Some(seq)) =
            (caps.get(0), caps.get(1), caps.get(2), caps.get(3))
        else {
            continue;
        };
        // Drop bracketed sub-tribunal marks like 虹民三（民）初字 and the old 字.
        let mut middle: String = strip_brackets(mid.as_str());
        if middle.ends_with('字') {
            middle.pop();
        }
        let Some(p) = PROCEDURE.captures(&middle) else {
            continue;
        };
        let (Some(pm), Some(kind)) = (p.get(0), p.get(1)) else {
            continue;
        };
        let procedure = format!("{}{}", kind.as_str(), p.get(2).map_or("", |m| m.as_str()));
        let court_code = middle[..pm.start()].trim().to_string();
        return Some(CaseNumber {
            raw: raw.as_str().to_string(),
            year: year.as_str().parse().ok(),
            court_code: (!court_code.is_empty()).then_some(court_code),
            procedure: Some(procedure),
            seq: to_halfwidth_digits(seq.as_str()).parse().ok(),
        });
    }
    None
}

fn strip_brackets(s: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '（' | '(' => depth += 1,
            '）' | ')' => depth = (depth - 1).max(0),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn category_of(number: Option<&CaseNumber>, header: &str) -> CaseCategory {
    let from_proc = number
        .and_then(|n| n.procedure.as_deref())
        .and_then(|p| p.chars().next())
        .and_then(|c| match c {
            '刑' => Some(CaseCategory::Criminal),
            '民' => Some(CaseCategory::Civil),
            '行' => Some(CaseCategory::Administrative),
            '执' => Some(CaseCategory::Enforcement),
            _ => None,
        });
    from_proc
        .or_else(|| {
            DOC_TYPE
                .captures(header)
                .and_then(|c| c.get(1))
                .and_then(|m| CaseCategory::parse(m.as_str()))
        })
        .unwrap_or_default()
}

/// Splits `charges_text` (`故意伤害、抢劫罪、走私、贩卖、运输、制造毒品罪`) into charges that
/// all end in 罪, keeping statutory compound charges whole.
pub fn split_charges(charges_text: &str) -> Vec<String> {
    let segs: Vec<&str> = charges_text
        .split('、')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < segs.len() {
        // Longest known compound starting at segment i.
        let mut taken = None;
        for j in (i + 1..segs.len()).rev() {
            let joined = segs[i..=j].join("、");
            let with_zui = if joined.ends_with('罪') {
                joined.clone()
            } else {
                format!("{joined}罪")
            };
            if COMPOUND_CHARGES.contains(&with_zui.as_str()) {
                taken = Some((j, with_zui));
                break;
            }
        }
        let (next, charge) = match taken {
            Some((j, c)) => (j + 1, c),
            None => {
                let mut j = i;
                while j + 1 < segs.len() && JOINING_VERBS.contains(&segs[j].trim_end_matches('罪'))
                {
                    j += 1;
                }
                let joined = segs[i..=j].join("、");
                let c = if joined.ends_with('罪') {
                    joined
                } else {
                    format!("{joined}罪")
                };
                (j + 1, c)
            }
        };
        if is_plausible_charge(&charge) && !out.contains(&charge) {
            out.push(charge);
        }
        i = next;
    }
    out
}

fn is_plausible_charge(c: &str) -> bool {
    let n = c.chars().count();
    (3..=40).contains(&n)
        && ![
            "被告",
            "判处",
            "构成",
            "涉嫌",
            "上诉",
            "本院",
            "其行为",
            "一案",
            "数罪",
        ]
        .iter()
        .any(|w| c.contains(w))
}

fn charges_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for caps in CHARGE.captures_iter(text) {
        if let Some(m) = caps.get(1) {
            for c in split_charges(m.as_str()) {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// Charges (罪名): from the own result section when there is one, else from the
/// indictment clause (`指控被告人…犯X罪…一案`), else from a title with 犯, else the first
/// `犯X罪` anywhere that is not a prior conviction (`因犯…被判处`).
pub fn find_charges(text: &str, result: &str, title: &str) -> Vec<String> {
    let from_result = charges_in(result);
    if !from_result.is_empty() {
        return from_result;
    }
    if let Some(m) = CHARGE_LIST.captures(text).and_then(|c| c.get(1)) {
        let found = split_charges(m.as_str());
        if !found.is_empty() {
            return found;
        }
    }
    for m in INDICTMENT.find_iter(text) {
        let found = charges_in(m.as_str());
        if !found.is_empty() {
            return found;
        }
    }
    let from_title = title_charges(title);
    if !from_title.is_empty() {
        return from_title;
    }
    for caps in CHARGE.captures_iter(text) {
        let (Some(all), Some(m)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        let before = &text[char_boundary(text, all.start().saturating_sub(6))..all.start()];
        let after = &text[all.end()..char_boundary(text, all.end() + 40)];
        if before.ends_with('因')
            || before.ends_with('曾')
            || before.ends_with("因涉嫌")
            || after.contains("被判处")
        {
            continue;
        }
        let found = split_charges(m.as_str());
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// Charges from a title such as `某某犯抢劫罪二审刑事判决书` (only with 犯: in titles like
/// `韩某寻衅滋事二审刑事判决书` the names cannot be told from the charge reliably).
/// A statutory compound charge named in the title is also taken (`某某引诱、容留、介绍卖淫罪…`).
fn title_charges(title: &str) -> Vec<String> {
    let found = charges_in(title);
    if !found.is_empty() {
        return found;
    }
    COMPOUND_CHARGES
        .iter()
        .filter(|c| title.contains(*c))
        .max_by_key(|c| c.len())
        .map(|c| vec![c.to_string()])
        .unwrap_or_default()
}

/// Finds the facts, reasoning and result sections.
///
/// facts: from the first of `现已审理终结` (what follows it), `经审理查明`, `本院查明`,
/// `原判认定`, `公诉机关指控` … up to `本院认为` (or `判决如下`, or the end);
/// reasoning: `本院认为` … up to `判决如下`/`裁定如下`; result: the court's own `判决如下` …
/// to the end, without the signature (`审判长` …). A `判决如下` that quotes the lower
/// court (preceded by `原判认为`/`原审判决认为` with no `本院认为` in between) is not a result.
pub fn split_sections(text: &str) -> (String, String, String) {
    const FACT_MARKERS: &[&str] = &[
        "经审理查明",
        "本院查明",
        "原判认定",
        "原审判决认定",
        "原审认定",
        "原判决认定",
        "一审判决认定",
        "原审法院认定",
        "公诉机关指控",
        "检察院指控：",
        "检察院指控，",
        "起诉书指控",
    ];
    let reasoning_start = text.find("本院认为");
    let result_marker = own_result_start(text, reasoning_start);
    let facts_start = match text.find("现已审理终结") {
        Some(i) => Some(i + "现已审理终结".len()),
        None => FACT_MARKERS.iter().filter_map(|m| text.find(m)).min(),
    };
    let facts_end = [reasoning_start, result_marker]
        .into_iter()
        .flatten()
        .filter(|&e| facts_start.is_some_and(|s| e > s))
        .min()
        .unwrap_or(text.len());
    let facts = facts_start
        .map(|s| clean_section(&text[s..facts_end]))
        .unwrap_or_default();
    let reasoning = reasoning_start
        .map(|s| {
            let end = result_marker.filter(|&e| e > s).unwrap_or(text.len());
            clean_section(&text[s..end])
        })
        .unwrap_or_default();
    let result = result_marker
        .map(|s| {
            let body = &text[s..];
            let end = ["审判长", "审 判 长", "审判员", "人民陪审员", "书记员"]
                .iter()
                .filter_map(|m| body.find(m))
                .filter(|&i| i > 12)
                .min()
                .unwrap_or(body.len());
            clean_section(&body[..end])
        })
        .unwrap_or_default();
    (facts, reasoning, result)
}

fn own_result_start(text: &str, reasoning_start: Option<usize>) -> Option<usize> {
    const MARKERS: &[&str] = &["判决如下", "裁定如下", "决定如下"];
    const QUOTING: &[&str] = &[
        "原判认为",
        "原审判决认为",
        "原审法院认为",
        "一审法院认为",
        "原判决认为",
        "原审认为",
    ];
    let mut best = None;
    for m in MARKERS {
        for (i, _) in text.match_indices(m) {
            let window = &text[char_boundary(text, i.saturating_sub(1500))..i];
            let quote_at = QUOTING.iter().filter_map(|q| window.rfind(q)).max();
            let own = match (quote_at, reasoning_start) {
                (None, _) => true,
                (Some(q), Some(r)) => r > i.saturating_sub(1500) + q && r < i,
                (Some(_), None) => false,
            };
            if own && best.is_none_or(|b| i < b) {
                best = Some(i);
            }
        }
    }
    best
}

fn clean_section(s: &str) -> String {
    s.trim_start_matches(['，', '：', ':', '。', ',', ' ', '\n', '\u{3000}'])
        .trim()
        .to_string()
}

/// The first defendant's sentence in `text`: the first `判处…` that is not a prior
/// conviction (`被判处`), preferring a `决定执行…` total in the same defendant's clause.
pub fn find_sentence(text: &str) -> Sentence {
    for (i, _) in text.match_indices("判处") {
        // A prior conviction: `因犯…罪被…法院判处…` (a 被 in the same clause, not 被告人).
        let before = &text[char_boundary(text, i.saturating_sub(60))..i];
        let clause_start = before
            .rfind(['。', '；', '，'])
            .map_or(0, |j| j + '，'.len_utf8());
        let own_clause = before[clause_start..]
            .replace("被告人", "")
            .replace("被害人", "");
        if own_clause.contains('被') {
            continue;
        }
        if before.ends_with("建议") {
            continue; // the prosecutor's recommendation, not a sentence
        }
        // The clause ends at the sentence end or where the next defendant starts: a
        // `被告人` naming someone else (`判处被告人赵某…；以…罪判处被告人赵某…` is one person).
        let rest = &text[i..];
        let sentence_end = rest.find('。').unwrap_or(rest.len());
        let name_after = |s: &str, at: usize| -> String {
            s[at + "被告人".len()..].chars().take(2).collect()
        };
        let own_name = before
            .rfind("被告人")
            .map(|j| name_after(before, j))
            .or_else(|| {
                rest.get(..char_boundary(rest, 24))
                    .and_then(|h| h.find("被告人"))
                    .map(|j| name_after(rest, j))
            });
        let skip = char_boundary(rest, "判处".len() + 3 * 9);
        let next_defendant = rest[..sentence_end]
            .match_indices("被告人")
            .map(|(j, _)| j)
            .filter(|&j| j >= skip)
            .find(|&j| own_name.as_deref().is_none_or(|n| name_after(rest, j) != n));
        let end = next_defendant.unwrap_or(sentence_end);
        let clause = match rest[..end].find("决定执行") {
            Some(j) => &rest[j..end],
            None => &rest[..end],
        };
        let s = sentence_in(clause);
        if s.penalty.is_some() {
            return s;
        }
    }
    Sentence::default()
}

fn sentence_in(clause: &str) -> Sentence {
    let mut s = Sentence::default();
    if let Some(c) = MAIN_PENALTY.captures(clause) {
        let all = c.get(0).map_or("", |m| m.as_str());
        s.penalty = Some(match all {
            "死刑" => MainPenalty::Death,
            "无期徒刑" => MainPenalty::Life,
            "免予刑事处罚" => MainPenalty::Exempt,
            "单处罚金" | "判处罚金" => MainPenalty::FineOnly,
            _ => match c.get(1).map(|m| m.as_str()) {
                Some("拘役") => MainPenalty::Detention,
                Some("管制") => MainPenalty::Surveillance,
                _ => MainPenalty::FixedTerm,
            },
        });
        s.term_months = c.get(2).and_then(|m| parse_term_months(m.as_str()));
    }
    s.probation_months = PROBATION
        .captures(clause)
        .and_then(|c| c.get(1))
        .and_then(|m| parse_term_months(m.as_str()));
    s.fine_yuan = FINE
        .captures(clause)
        .and_then(|c| c.get(1))
        .and_then(|m| parse_cn_int(&m.as_str().replace('，', "")));
    s
}

/// The judgment date: the last full Chinese date (`二〇一七年三月五日`) in the closing part.
pub fn find_judgment_date(text: &str) -> Option<JudgmentDate> {
    let tail = &text[char_boundary(text, text.len().saturating_sub(300))..];
    let caps = CN_DATE.captures_iter(tail).last()?;
    let year_s: String = caps
        .get(1)?
        .as_str()
        .chars()
        .map(|c| match c {
            '○' | 'Ｏ' | '零' => '〇',
            c => c,
        })
        .collect();
    let year = if year_s.chars().all(|c| c.is_ascii_digit()) {
        year_s.parse().ok()?
    } else {
        // Digit by digit: 二〇一七 → 2017.
        year_s
            .chars()
            .map(|c| parse_cn_int(&c.to_string()))
            .try_fold(0u64, |acc, d| d.map(|d| acc * 10 + d))?
    };
    let month = parse_cn_int(caps.get(2)?.as_str())?;
    let day = parse_cn_int(caps.get(3)?.as_str())?;
    JudgmentDate::new(
        u16::try_from(year).ok()?,
        u8::try_from(month).ok()?,
        u8::try_from(day).ok()?,
    )
}

/// How many of `cases` have each field filled, in a fixed field order.
pub fn field_coverage(cases: &[Case]) -> Vec<(String, usize)> {
    type Check = fn(&Case) -> bool;
    let checks: [(&str, Check); 16] = [
        ("title", |c| !c.title.is_empty()),
        ("court", |c| c.court.is_some()),
        ("court_level", |c| c.court_level.is_some()),
        ("region", |c| c.region.is_some()),
        ("case_number", |c| c.case_number.is_some()),
        ("procedure", |c| {
            c.case_number
                .as_ref()
                .is_some_and(|n| n.procedure.is_some())
        }),
        ("doc_type", |c| c.doc_type.is_some()),
        ("category", |c| c.category != CaseCategory::Other),
        ("date", |c| c.date.is_some()),
        ("charges", |c| !c.charges.is_empty()),
        ("statutes", |c| !c.statutes.is_empty()),
        ("sentence", |c| c.sentence.penalty.is_some()),
        ("sentence.fine", |c| c.sentence.fine_yuan.is_some()),
        ("facts", |c| !c.sections.facts.is_empty()),
        ("reasoning", |c| !c.sections.reasoning.is_empty()),
        ("result", |c| !c.sections.result.is_empty()),
    ];
    checks
        .iter()
        .map(|(name, f)| (name.to_string(), cases.iter().filter(|c| f(c)).count()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_numbers_new_and_old_style() {
        let n = parse_case_number("某中级人民法院刑事判决书（2016）琼97刑终22号：").unwrap();
        assert_eq!(n.raw, "（2016）琼97刑终22号");
        assert_eq!(n.year, Some(2016));
        assert_eq!(n.court_code.as_deref(), Some("琼97"));
        assert_eq!(n.procedure.as_deref(), Some("刑终"));
        assert_eq!(n.seq, Some(22));
        let o = parse_case_number("作出（2015）儋刑初字第389号刑事判决").unwrap();
        assert_eq!(o.court_code.as_deref(), Some("儋"));
        assert_eq!(o.procedure.as_deref(), Some("刑初"));
        assert_eq!(o.seq, Some(389));
        let t = parse_case_number("(2009)沪二中民二（民）终字第1508号").unwrap();
        assert_eq!(t.procedure.as_deref(), Some("民终"));
        assert_eq!(t.court_code.as_deref(), Some("沪二中"));
        let e = parse_case_number("（2020）京0105执123号").unwrap();
        assert_eq!(e.procedure.as_deref(), Some("执"));
        assert_eq!(parse_case_number("（2020年）没有案号"), None);
    }

    #[test]
    fn charges_split_and_compounds() {
        assert_eq!(
            split_charges("故意伤害、抢劫罪"),
            vec!["故意伤害罪", "抢劫罪"]
        );
        assert_eq!(split_charges("盗窃罪"), vec!["盗窃罪"]);
        assert_eq!(
            split_charges("走私、贩卖、运输、制造毒品罪、敲诈勒索罪"),
            vec!["走私、贩卖、运输、制造毒品罪", "敲诈勒索罪"]
        );
        assert_eq!(split_charges("贩卖、运输毒品罪"), vec!["贩卖、运输毒品罪"]);
        assert_eq!(
            split_charges("非法转让、倒卖土地使用权罪、强迫交易罪"),
            vec!["非法转让、倒卖土地使用权罪", "强迫交易罪"]
        );
        assert_eq!(
            split_charges("寻衅滋事、妨害公务"),
            vec!["寻衅滋事罪", "妨害公务罪"]
        );
    }

    #[test]
    fn charges_prefer_result_then_indictment_and_skip_prior_convictions() {
        let text = "被告人甲，曾因犯盗窃罪被判处有期徒刑一年。某县人民检察院指控被告人甲犯故意伤害、抢劫罪一案，于2020年1月1日向本院提起公诉。";
        assert_eq!(find_charges(text, "", ""), vec!["故意伤害罪", "抢劫罪"]);
        assert_eq!(
            find_charges(text, "一、被告人甲犯抢劫罪，判处有期徒刑三年", ""),
            vec!["抢劫罪"]
        );
        let prior_only = "被告人乙，2010年因犯盗窃罪被判处有期徒刑一年。后乙犯诈骗罪。";
        assert_eq!(find_charges(prior_only, "", ""), vec!["诈骗罪"]);
        assert_eq!(
            find_charges("无关文本", "", "张三犯寻衅滋事罪二审刑事判决书"),
            vec!["寻衅滋事罪"]
        );
    }

    #[test]
    fn sentences() {
        let s = find_sentence(
            "一、被告人甲犯盗窃罪，判处有期徒刑一年六个月，缓刑二年，并处罚金人民币五千元。",
        );
        assert_eq!(s.penalty, Some(MainPenalty::FixedTerm));
        assert_eq!(s.term_months, Some(18));
        assert_eq!(s.probation_months, Some(24));
        assert_eq!(s.fine_yuan, Some(5000));
        let s = find_sentence("被告人乙犯危险驾驶罪，判处拘役二个月，并处罚金5000元。");
        assert_eq!(s.penalty, Some(MainPenalty::Detention));
        assert_eq!((s.term_months, s.fine_yuan), (Some(2), Some(5000)));
        // Prior conviction skipped; first defendant wins over the second.
        let s = find_sentence("甲曾因犯抢劫罪被判处有期徒刑十年。一、被告人甲犯诈骗罪，判处有期徒刑三年；被告人丙犯诈骗罪，判处有期徒刑一年。");
        assert_eq!(s.term_months, Some(36));
        // 决定执行 total within the first defendant's clause.
        let s = find_sentence("以被告人许某犯甲罪，判处有期徒刑三年六个月；犯乙罪，判处有期徒刑十二年；决定执行有期徒刑十五年。以被告人秦某犯乙罪，判处有期徒刑二年。");
        assert_eq!(s.term_months, Some(180));
        assert_eq!(
            find_sentence("判处死刑，剥夺政治权利终身").penalty,
            Some(MainPenalty::Death)
        );
        assert!(find_sentence("没有刑罚").is_empty());
        assert_eq!(find_sentence("判处罚金3.5万元").fine_yuan, Some(35_000));
    }

    #[test]
    fn regions_and_levels() {
        assert_eq!(
            province_in("海南省第二中级人民法院").as_deref(),
            Some("海南")
        );
        assert_eq!(
            province_in("新疆维吾尔自治区高级人民法院").as_deref(),
            Some("新疆")
        );
        assert_eq!(
            province_in("广西壮族自治区南宁市中级人民法院").as_deref(),
            Some("广西")
        );
        assert_eq!(
            province_in("北京市第一中级人民法院").as_deref(),
            Some("北京")
        );
        assert_eq!(province_in("广州市海珠区人民法院"), None);
        assert_eq!(
            court_level("新疆维吾尔自治区高级人民法院伊犁哈萨克自治州分院"),
            Some(CourtLevel::Intermediate)
        );
        assert_eq!(court_level("浙江省高级人民法院"), Some(CourtLevel::High));
    }

    /// A fictional first-instance judgment exercising every field.
    const FICTIONAL: &str = "张某盗窃罪一审刑事判决书江苏省南京市玄武区人民法院刑事判决书（2019）苏0102刑初88号公诉机关南京市玄武区人民检察院。被告人张某，男，1990年1月1日出生。南京市玄武区人民检察院以宁玄检诉〔2019〕1号起诉书指控被告人张某犯盗窃罪，于2019年3月1日向本院提起公诉。本院依法适用简易程序，公开开庭审理了本案。现已审理终结。经审理查明，2019年1月2日，被告人张某在某超市窃取商品若干，价值人民币3000元。本院认为，被告人张某以非法占有为目的，秘密窃取他人财物，数额较大，其行为已构成盗窃罪。依照《中华人民共和国刑法》第二百六十四条、第五十二条、第六十七条第三款之规定，判决如下：被告人张某犯盗窃罪，判处有期徒刑六个月，并处罚金人民币二千元。如不服本判决，可在接到判决书的第二日起十日内提出上诉。审判员李某二〇一九年四月二日书记员王某";

    #[test]
    fn full_fictional_judgment() {
        let c = extract_case(CaseId::new("t:1"), FICTIONAL);
        assert_eq!(c.court.as_deref(), Some("江苏省南京市玄武区人民法院"));
        assert_eq!(c.title, "张某盗窃罪一审刑事判决书");
        assert_eq!(c.court_level, Some(CourtLevel::Basic));
        assert_eq!(c.region.as_deref(), Some("江苏"));
        assert_eq!(
            c.case_number.as_ref().and_then(|n| n.procedure.as_deref()),
            Some("刑初")
        );
        assert_eq!(c.category, CaseCategory::Criminal);
        assert_eq!(c.doc_type.as_deref(), Some("判决书"));
        assert_eq!(c.charges, vec!["盗窃罪"]);
        assert_eq!(c.statutes.len(), 3);
        assert_eq!(c.sentence.term_months, Some(6));
        assert_eq!(c.sentence.fine_yuan, Some(2000));
        assert!(
            c.sections.facts.starts_with("经审理查明"),
            "{}",
            c.sections.facts
        );
        assert!(c.sections.facts.ends_with("3000元。"));
        assert!(c.sections.reasoning.starts_with("本院认为"));
        assert!(c.sections.reasoning.contains("之规定，"));
        assert!(c.sections.result.starts_with("判决如下"));
        assert!(!c.sections.result.contains("书记员"));
        assert!(!c.sections.result.contains("审判员"));
        assert_eq!(c.date, JudgmentDate::new(2019, 4, 2));
        assert_eq!(c.tier, AuthorityTier::Other);
    }

    #[test]
    fn quoted_lower_court_result_is_not_the_result() {
        let t = "某市中级人民法院刑事判决书（2019）粤13刑终1号。现已审理终结。原审判决认定，甲骗取财物。原审判决认为，甲构成诈骗罪。依照《中华人民共和国刑法》第二百六十六条的规定，判决如下：被告人甲犯诈骗罪，判处有期徒刑五年。甲上诉称其无罪。";
        let c = extract_case(CaseId::new("t:2"), t);
        assert!(c.sections.result.is_empty());
        assert!(c.sections.reasoning.is_empty());
        assert!(c.sections.facts.starts_with("原审判决认定"));
        assert_eq!(c.charges, vec!["诈骗罪"]);
        assert_eq!(c.sentence.term_months, Some(60));
        assert_eq!(c.region.as_deref(), Some("广东"));
        assert_eq!(c.court_level, Some(CourtLevel::Intermediate));
    }

    fn load_lecardv2() -> Option<Vec<Case>> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/judgments/lecardv2_judgments.jsonl");
        let Ok(data) = std::fs::read_to_string(&path) else {
            eprintln!("skipping: {} absent", path.display());
            return None;
        };
        let mut cases = Vec::new();
        for line in data.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            let id = v.get("id").map(|x| x.to_string()).unwrap_or_default();
            let text = v.get("text").and_then(|x| x.as_str()).unwrap_or_default();
            cases.push(extract_case(CaseId::new(id), text));
        }
        Some(cases)
    }

    #[test]
    fn real_judgments_coverage() {
        let Some(cases) = load_lecardv2() else { return };
        assert_eq!(cases.len(), 320);
        let cov = field_coverage(&cases);
        for (field, n) in &cov {
            println!("{field:14} {n:4}/{}", cases.len());
        }
        if std::env::var("LEIAN_DUMP").is_ok() {
            for c in &cases {
                println!(
                    "{} | {:?} | {:?} | {:?} | {:?} | {:?} | {:?} | {:?} | {:?}",
                    c.id,
                    c.title,
                    c.court,
                    c.region,
                    c.case_number
                        .as_ref()
                        .map(|n| (&n.raw, &n.court_code, &n.procedure)),
                    c.charges,
                    c.statutes.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                    c.sentence,
                    c.sections.facts.chars().take(20).collect::<String>()
                );
            }
        }
        let share = |name: &str| {
            cov.iter()
                .find(|(f, _)| f == name)
                .map_or(0.0, |(_, n)| *n as f64 / cases.len() as f64)
        };
        // Thresholds from what the extractor achieves on these texts (see the report):
        // the texts are cut before 本院认为, so reasoning/result are nearly always absent.
        for f in [
            "court",
            "court_level",
            "region",
            "case_number",
            "procedure",
            "doc_type",
            "category",
            "charges",
            "facts",
        ] {
            assert!(share(f) >= 0.9, "{f}: {}", share(f));
        }
        assert!(share("statutes") >= 0.5, "statutes: {}", share("statutes"));
        assert!(share("sentence") >= 0.25, "sentence: {}", share("sentence"));
    }
}
