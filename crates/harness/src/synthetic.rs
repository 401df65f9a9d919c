//! A deterministic corpus of synthetic criminal judgments for benchmarks (`leian gen`,
//! `leian bench-peers`).
//!
//! Each case is composed from tables written here — provinces and cities, court levels,
//! charges with their 刑法 articles, fact templates per kind of crime, goods, places,
//! sentencing circumstances — and numbers drawn from a seeded generator (dates, amounts,
//! terms, fines). Given the statute corpus ([`load_article_quotes`]), the reasoning quotes
//! the first clause of the cited 刑法 article, as real judgments do; without it the
//! reasoning cites the article only. The same seed always gives the same cases.

use crate::{HarnessError, Result};
use leian_ingest::{
    Case, CaseCategory, CaseId, CaseNumber, CourtLevel, JudgmentDate, MainPenalty, Sentence,
    StatuteRef,
};
use std::collections::HashMap;
use std::path::Path;

/// First clause (up to the first `；` or `。`) of each 刑法 article, by article number.
/// An absent file gives an empty map; an unreadable or malformed one is an error.
pub fn load_article_quotes(path: &Path) -> Result<HashMap<u32, String>> {
    let mut quotes = HashMap::new();
    if !path.exists() {
        return Ok(quotes);
    }
    let text = std::fs::read_to_string(path).map_err(|source| HarnessError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    for (i, line) in text.lines().enumerate() {
        if !line.contains("中华人民共和国刑法\"") {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| HarnessError::BadRecord {
                path: path.to_path_buf(),
                line: i + 1,
                message: format!("invalid JSON: {e}"),
            })?;
        let (Some(no), Some(body)) = (v["article_no"].as_u64(), v["text"].as_str()) else {
            continue;
        };
        let clause: String = body
            .chars()
            .take_while(|c| !matches!(c, '；' | '。'))
            .collect();
        if let Ok(no) = u32::try_from(no) {
            quotes.insert(no, clause);
        }
    }
    Ok(quotes)
}

/// A small, fast, seedable generator (splitmix64): no dependency, same stream everywhere.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next_u64() % xs.len() as u64) as usize]
    }
    /// True with probability `p` percent.
    pub fn chance(&mut self, p: u64) -> bool {
        self.next_u64() % 100 < p
    }
}

/// (province short name, province name, court code letter, cities)
const PROVINCES: &[(&str, &str, &str, &[&str])] = &[
    ("北京", "北京市", "京", &["朝阳", "海淀", "丰台", "通州"]),
    ("上海", "上海市", "沪", &["浦东", "闵行", "徐汇", "松江"]),
    (
        "浙江",
        "浙江省",
        "浙",
        &["杭州", "宁波", "温州", "金华", "台州"],
    ),
    (
        "江苏",
        "江苏省",
        "苏",
        &["南京", "苏州", "无锡", "徐州", "南通"],
    ),
    (
        "广东",
        "广东省",
        "粤",
        &["广州", "深圳", "东莞", "佛山", "汕头"],
    ),
    ("四川", "四川省", "川", &["成都", "绵阳", "南充", "宜宾"]),
    ("湖北", "湖北省", "鄂", &["武汉", "宜昌", "襄阳", "荆州"]),
    ("河南", "河南省", "豫", &["郑州", "洛阳", "南阳", "新乡"]),
    ("山东", "山东省", "鲁", &["济南", "青岛", "烟台", "临沂"]),
    ("福建", "福建省", "闽", &["福州", "厦门", "泉州", "漳州"]),
    ("湖南", "湖南省", "湘", &["长沙", "株洲", "衡阳", "岳阳"]),
    ("安徽", "安徽省", "皖", &["合肥", "芜湖", "蚌埠", "阜阳"]),
    ("河北", "河北省", "冀", &["石家庄", "保定", "唐山", "邯郸"]),
    ("陕西", "陕西省", "陕", &["西安", "宝鸡", "咸阳", "榆林"]),
    ("云南", "云南省", "云", &["昆明", "曲靖", "大理", "红河"]),
    (
        "广西",
        "广西壮族自治区",
        "桂",
        &["南宁", "柳州", "桂林", "玉林"],
    ),
    ("辽宁", "辽宁省", "辽", &["沈阳", "大连", "鞍山", "锦州"]),
    ("江西", "江西省", "赣", &["南昌", "赣州", "九江", "上饶"]),
];

const DISTRICT_SUFFIX: &[&str] = &[
    "东城", "西湖", "新华", "城关", "开发", "江北", "南湖", "临江",
];

/// What a charge's facts are about: picks the fact templates and the amount unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Theft,
    Fraud,
    Violence,
    Traffic,
    Drugs,
    Office,
    Order,
    Network,
}

/// (charge, 刑法 article, kind)
const CHARGES: &[(&str, u32, Kind)] = &[
    ("盗窃罪", 264, Kind::Theft),
    ("抢夺罪", 267, Kind::Theft),
    ("抢劫罪", 263, Kind::Violence),
    ("诈骗罪", 266, Kind::Fraud),
    ("合同诈骗罪", 224, Kind::Fraud),
    ("信用卡诈骗罪", 196, Kind::Fraud),
    ("故意伤害罪", 234, Kind::Violence),
    ("寻衅滋事罪", 293, Kind::Order),
    ("聚众斗殴罪", 292, Kind::Order),
    ("危险驾驶罪", 133, Kind::Traffic),
    ("交通肇事罪", 133, Kind::Traffic),
    ("走私、贩卖、运输、制造毒品罪", 347, Kind::Drugs),
    ("非法持有毒品罪", 348, Kind::Drugs),
    ("容留他人吸毒罪", 354, Kind::Drugs),
    ("职务侵占罪", 271, Kind::Office),
    ("挪用资金罪", 272, Kind::Office),
    ("贪污罪", 382, Kind::Office),
    ("受贿罪", 385, Kind::Office),
    ("敲诈勒索罪", 274, Kind::Order),
    ("开设赌场罪", 303, Kind::Order),
    ("妨害公务罪", 277, Kind::Order),
    ("掩饰、隐瞒犯罪所得罪", 312, Kind::Theft),
    ("帮助信息网络犯罪活动罪", 287, Kind::Network),
    ("侵犯公民个人信息罪", 253, Kind::Network),
    ("非法经营罪", 225, Kind::Fraud),
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
];

const GOODS: &[&str] = &[
    "手机",
    "电动自行车",
    "笔记本电脑",
    "现金",
    "金项链",
    "电缆线",
    "香烟",
    "白酒",
    "钢材",
    "摩托车",
    "平板电脑",
    "钱包",
    "铜芯电线",
    "蓄电池",
    "名表",
    "茶叶",
];

const PLACES: &[&str] = &[
    "小区地下车库",
    "农贸市场",
    "超市",
    "出租屋",
    "公交车上",
    "网吧",
    "建筑工地",
    "KTV包厢",
    "宾馆房间",
    "路边停车场",
    "商场",
    "饭店",
    "物流仓库",
    "村民家中",
];

const TOOLS: &[&str] = &["螺丝刀", "老虎钳", "万能钥匙", "剪刀", "撬棍"];
const WEAPONS: &[&str] = &["水果刀", "木棍", "啤酒瓶", "钢管", "砖块"];
const INJURIES: &[&str] = &["轻伤一级", "轻伤二级", "重伤二级", "轻微伤"];
const DRUGS: &[&str] = &["甲基苯丙胺", "海洛因", "氯胺酮", "甲基苯丙胺片剂"];
const APPS: &[&str] = &["微信", "支付宝", "QQ", "某网络借贷平台", "某二手交易平台"];
const FRAUD_STORIES: &[&str] = &[
    "冒充客服以退款为由",
    "虚构可以帮助办理贷款",
    "谎称可以低价代购紧俏商品",
    "以投资理财高额返利为诱饵",
    "冒充被害人亲友以急需用钱为由",
    "虚构工程项目需要垫资",
];
const VEHICLES: &[&str] = &["小型轿车", "二轮摩托车", "小型普通客车", "重型半挂牵引车"];
const UNITS: &[&str] = &[
    "某贸易有限公司",
    "某物流公司",
    "某村民委员会",
    "某街道办事处",
    "某建设集团",
];

/// (circumstance in the reasoning, whether it lightens the sentence)
const CIRCUMSTANCES: &[(&str, bool)] = &[
    ("归案后如实供述自己的罪行，系坦白", true),
    ("主动投案并如实供述犯罪事实，系自首", true),
    ("自愿认罪认罚", true),
    ("已退赔被害人全部经济损失并取得谅解", true),
    ("系初犯、偶犯", true),
    ("在共同犯罪中起次要作用，系从犯", true),
    ("有检举揭发他人犯罪行为，经查证属实，系立功", true),
    (
        "曾因犯罪被判处有期徒刑，刑罚执行完毕后五年内再犯应当判处有期徒刑以上刑罚之罪，系累犯",
        false,
    ),
    ("曾因同类违法行为受过行政处罚", false),
];

/// Writes cases `0..count` of `generator` to `out` as native JSON lines; the bytes written.
/// With `full_length`, [`Generator::full_case`]s.
pub fn write_jsonl(
    generator: &Generator,
    count: u64,
    full_length: bool,
    out: &Path,
) -> Result<u64> {
    use std::io::Write as _;
    let io = |source| HarnessError::Io {
        path: out.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(out).map_err(io)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut bytes = 0u64;
    for n in 0..count {
        let case = if full_length {
            generator.full_case(n)
        } else {
            generator.case(n)
        };
        let line = serde_json::to_string(&case)?;
        bytes += line.len() as u64 + 1;
        w.write_all(line.as_bytes()).map_err(io)?;
        w.write_all(b"\n").map_err(io)?;
    }
    w.flush().map_err(io)?;
    Ok(bytes)
}

/// Builds case `n` of the corpus of one seed: every case has its own stream, so any slice
/// of the corpus can be produced alone and the output does not depend on the order.
pub struct Generator {
    seed: u64,
    quotes: HashMap<u32, String>,
}

impl Generator {
    pub fn new(seed: u64, quotes: HashMap<u32, String>) -> Self {
        Generator { seed, quotes }
    }

    pub fn case(&self, n: u64) -> Case {
        let mut r = SplitMix::new(self.seed ^ n.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        r.next_u64();
        let (region, province, code, cities) = *r.pick(PROVINCES);
        let city = *r.pick(cities);
        let municipality = province.ends_with('市');
        let level = match r.range(0, 99) {
            0..=71 => CourtLevel::Basic,
            72..=93 => CourtLevel::Intermediate,
            _ => CourtLevel::High,
        };
        let court = match level {
            CourtLevel::Basic if municipality => format!("{province}{city}区人民法院"),
            CourtLevel::Basic => {
                format!("{city}市{}区人民法院", r.pick(DISTRICT_SUFFIX))
            }
            CourtLevel::Intermediate if municipality => {
                format!("{province}第{}中级人民法院", r.pick(&["一", "二", "三"]))
            }
            CourtLevel::Intermediate => format!("{province}{city}市中级人民法院"),
            _ => format!("{province}高级人民法院"),
        };
        let year = r.range(2014, 2023) as u16;
        let month = r.range(1, 12) as u8;
        let day = r.range(1, 28) as u8;
        let date = JudgmentDate::new(year, month, day);
        let procedure = if level == CourtLevel::Basic {
            "刑初"
        } else {
            *r.pick(&["刑初", "刑终", "刑终"])
        };
        let seq = r.range(1, 2999) as u32;
        let court_code = format!("{code}{:02}{:02}", r.range(1, 20), r.range(1, 30));
        let number = CaseNumber {
            raw: format!("（{year}）{court_code}{procedure}{seq}号"),
            year: Some(year),
            court_code: Some(court_code),
            procedure: Some(procedure.to_string()),
            seq: Some(seq),
        };
        let mut picked = vec![*r.pick(CHARGES)];
        if r.chance(12) {
            let second = *r.pick(CHARGES);
            if second.0 != picked[0].0 {
                picked.push(second);
            }
        }
        let name = format!(
            "{}某{}",
            r.pick(SURNAMES),
            if r.chance(50) { "某" } else { "" }
        );
        let victim = format!("{}某", r.pick(SURNAMES));
        let mut facts = format!(
            "{}人民检察院指控，被告人{name}，{}，{}年{}月出生，{}。经审理查明：",
            if municipality {
                format!("{province}{city}区")
            } else {
                format!("{city}市")
            },
            if r.chance(85) { "男" } else { "女" },
            year as u64 - r.range(19, 60),
            r.range(1, 12),
            r.pick(&["无业", "务工", "个体经营者", "公司职员", "农民", "司机"])
        );
        for (i, &(_, _, kind)) in picked.iter().enumerate() {
            if i > 0 {
                facts.push_str("另查明，");
            }
            facts.push_str(&fact_text(&mut r, kind, &name, &victim, city, year));
        }
        facts.push_str(&format!(
            "案发后，被告人{name}于{year}年{}月{}日被公安机关{}。上述事实，有{}等证据证实。",
            r.range(1, 12),
            r.range(1, 28),
            r.pick(&["抓获归案", "传唤到案", "电话通知到案"]),
            r.pick(&[
                "被害人陈述、证人证言、监控录像、被告人的供述与辩解",
                "扣押清单、价格认定结论书、现场勘验笔录、被告人的供述",
                "鉴定意见、书证、电子数据、辨认笔录",
            ])
        ));
        let circumstances: Vec<(&str, bool)> =
            (0..r.range(1, 3)).map(|_| *r.pick(CIRCUMSTANCES)).collect();
        let charge_names: Vec<String> = picked.iter().map(|c| c.0.to_string()).collect();
        let mut reasoning = format!(
            "本院认为，被告人{name}的行为已构成{}。公诉机关指控的事实清楚，证据确实、充分，指控的罪名成立。",
            charge_names.join("、")
        );
        for &(_, article, _) in &picked {
            if let Some(q) = self.quotes.get(&article) {
                reasoning.push_str(&format!("《中华人民共和国刑法》第{article}条规定，{q}。"));
            }
        }
        for (c, _) in &circumstances {
            reasoning.push_str(&format!("被告人{name}{c}，"));
        }
        let lighter = circumstances.iter().filter(|c| c.1).count();
        let heavier = circumstances.len() - lighter;
        reasoning.push_str(match (lighter > 0, heavier > 0) {
            (true, false) => "依法可以从轻处罚。",
            (false, true) => "依法应当从重处罚。",
            _ => "综合考虑其犯罪情节、认罪态度及社会危害性，酌情予以处罚。",
        });
        let (sentence, sentence_text) = sentence(&mut r, lighter, heavier);
        let statutes: Vec<StatuteRef> = picked
            .iter()
            .map(|c| StatuteRef {
                law: "刑法".into(),
                article: c.1,
            })
            .chain(
                [67u32, 52, 64]
                    .into_iter()
                    .filter(|_| r.chance(60))
                    .map(|article| StatuteRef {
                        law: "刑法".into(),
                        article,
                    }),
            )
            .collect();
        let cited: Vec<String> = statutes
            .iter()
            .map(|s| format!("第{}条", s.article))
            .collect();
        let result = format!(
            "依照《中华人民共和国刑法》{}之规定，判决如下：被告人{name}犯{}，{sentence_text}。",
            cited.join("、"),
            charge_names.join("、")
        );
        let mut case = Case::new(CaseId(format!("gen:{:08}", n)));
        case.title = format!(
            "{name}{}{}刑事{}",
            charge_names[0],
            if procedure == "刑终" {
                "二审"
            } else {
                "一审"
            },
            if procedure == "刑终" && r.chance(30) {
                "裁定书"
            } else {
                "判决书"
            }
        );
        case.court = Some(court);
        case.court_level = Some(level);
        case.region = Some(region.to_string());
        case.case_number = Some(number);
        case.date = date;
        case.doc_type = Some(if case.title.ends_with("裁定书") {
            "裁定书".into()
        } else {
            "判决书".into()
        });
        case.category = CaseCategory::Criminal;
        case.charges = charge_names;
        case.statutes = statutes;
        case.sentence = sentence;
        case.sections.facts = facts;
        case.sections.reasoning = reasoning;
        case.sections.result = result;
        case.source = "gen".into();
        case
    }
}

impl Generator {
    /// Case `n` at the length of a real first-instance judgment (≈ 3,500 characters): the
    /// same case as [`Generator::case`] with what a full judgment adds — the header and
    /// 审理经过, the prosecution's account, the evidence one item at a time, the
    /// defendant's and the defence's words and the court's answer, the sentencing reasons,
    /// how the term is counted and the appeal notice — and its `full_text`.
    pub fn full_case(&self, n: u64) -> Case {
        let mut case = self.case(n);
        let mut r = SplitMix::new(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5151);
        r.next_u64();
        let name = case
            .sections
            .facts
            .split("被告人")
            .nth(1)
            .and_then(|rest| rest.split('，').next())
            .unwrap_or("某某")
            .to_string();
        let court = case.court.clone().unwrap_or_default();
        let number = case
            .case_number
            .as_ref()
            .map(|c| c.raw.clone())
            .unwrap_or_default();
        let charges = case.charges.join("、");
        let facts = case.sections.facts.clone();
        let witness = format!("{}某", r.pick(SURNAMES));
        let lawyer = format!("{}某某", r.pick(SURNAMES));
        let header = format!(
            "{court}\n刑事判决书\n{number}\n公诉机关{}。\n被告人{name}，户籍所在地{}，\
             因涉嫌犯{charges}于{}被刑事拘留，同年{}月{}日被逮捕。现羁押于{}。\n\
             辩护人{lawyer}，{}律师事务所律师。\n公诉机关以{}检刑诉〔{}〕{}号起诉书指控被告人{name}犯{charges}，\
             于{}向本院提起公诉。本院依法适用{}程序，公开开庭审理了本案。公诉机关指派检察员{}某出庭支持公诉，\
             被告人{name}及其辩护人{lawyer}到庭参加诉讼。现已审理终结。\n",
            court.replace("人民法院", "人民检察院"),
            case.region.clone().unwrap_or_default(),
            date_zh(&mut r, 2014, 2022),
            r.range(1, 12),
            r.range(1, 28),
            court.replace("人民法院", "看守所"),
            r.pick(&["某某", "明理", "正义", "天平", "衡信"]),
            case.region.clone().unwrap_or_default(),
            r.range(2014, 2022),
            r.range(1, 999),
            date_zh(&mut r, 2014, 2022),
            r.pick(&["普通", "简易", "速裁"]),
            r.pick(SURNAMES),
        );
        let mut evidence =
            String::from("上述事实，有公诉机关提交并经法庭质证、认证的下列证据予以证实：");
        let kinds = [
            ("受案登记表、立案决定书", "证实本案案发及立案侦查的经过"),
            ("抓获经过、到案经过", "证实被告人归案的时间、地点及经过"),
            (
                "户籍证明",
                "证实被告人的身份情况，其作案时已达完全刑事责任年龄",
            ),
            (
                "扣押决定书、扣押清单、发还清单",
                "证实公安机关依法扣押涉案财物并发还被害人的情况",
            ),
            (
                "现场勘验检查笔录、现场图及照片",
                "证实案发现场的位置、环境及现场遗留痕迹的情况",
            ),
            (
                "调取的视频监控录像及截图",
                "证实被告人进出案发现场及作案前后的活动轨迹",
            ),
            ("价格认定结论书", "证实涉案财物在案发时的价格"),
            (
                "被害人陈述",
                "证实其财物受到侵害的时间、地点、经过及损失情况",
            ),
            (
                "证人证言",
                "证实其所见所闻的案发经过，与被害人陈述及监控录像相互印证",
            ),
            ("辨认笔录", "证实被告人辨认出作案现场，被害人辨认出被告人"),
            (
                "被告人的供述与辩解",
                "被告人对其作案的时间、地点、手段及经过供认不讳，与其他证据相互印证",
            ),
            (
                "鉴定意见",
                "证实涉案物品的性质、数量及被害人损伤程度的鉴定结论",
            ),
            ("书证、电子数据", "证实涉案转账记录、聊天记录等客观情况"),
        ];
        for (i, (what, shows)) in kinds.iter().enumerate() {
            let who = if what.contains("证人") {
                format!("证人{witness}的")
            } else {
                String::new()
            };
            evidence.push_str(&format!(
                "{}．{who}{what}，{shows}{}；",
                i + 1,
                if r.chance(50) {
                    "，经查，该证据来源合法，内容客观真实，本院予以确认".to_string()
                } else {
                    String::new()
                }
            ));
        }
        evidence.pop();
        evidence.push_str("。\n");
        let account = format!(
            "公诉机关指控：{}公诉机关认为，被告人{name}的行为已触犯《中华人民共和国刑法》的规定，犯罪事实清楚，\
             证据确实、充分，应当以{charges}追究其刑事责任，建议判处相应刑罚。\n被告人{name}对公诉机关指控的事实和罪名\
             {}，{}。\n辩护人{lawyer}提出的辩护意见是：被告人{name}{}，系初犯、偶犯，{}，请求法庭对其从轻处罚。\n经审理查明：",
            facts.split("经审理查明：").nth(1).unwrap_or(&facts),
            r.pick(&["均无异议", "无异议，自愿认罪认罚", "提出异议，辩称其并非有意为之"]),
            r.pick(&["当庭表示认罪悔罪", "并在侦查阶段签署了认罪认罚具结书", "请求法庭从宽处理"]),
            r.pick(&["到案后如实供述自己的罪行", "归案后认罪态度较好", "具有坦白情节"]),
            r.pick(&["已退赔被害人全部经济损失并取得谅解", "家庭困难，上有老人需要赡养", "主观恶性较小，社会危害性不大"]),
        );
        let judged = format!(
            "\n关于辩护人提出被告人{name}具有坦白情节、系初犯偶犯的辩护意见，经查，被告人{name}归案后能够如实供述自己的罪行，\
             且无前科劣迹，辩护意见与查明的事实相符，本院予以采纳；关于辩护人提出的其他辩护意见，{}。\
             本院在量刑时综合考虑了被告人犯罪的事实、性质、情节、对社会的危害程度以及认罪悔罪表现，\
             根据其犯罪的数额、手段、后果，结合其到案后的表现及退赔情况，依照罪责刑相适应原则，决定对其判处如下刑罚。\
             公诉机关的量刑建议{}，本院{}。",
            r.pick(&["缺乏事实和法律依据，本院不予采纳", "本院在量刑时予以酌情考虑"]),
            r.pick(&["适当", "基本适当", "略重"]),
            r.pick(&["予以采纳", "予以部分采纳", "依法调整"]),
        );
        let count = format!(
            "\n（刑期从判决执行之日起计算。判决执行以前先行羁押的，羁押一日折抵刑期一日，即自{}起至{}止。）\n\
             如不服本判决，可在接到判决书的第二日起十日内，通过本院或者直接向{}提出上诉。书面上诉的，应当提交上诉状正本一份，副本二份。",
            date_zh(&mut r, 2014, 2022),
            date_zh(&mut r, 2015, 2026),
            if court.contains("中级") || court.contains("高级") {
                "上一级人民法院"
            } else {
                "本市中级人民法院"
            },
        );
        let born = format!(
            "，{}族，{}文化，住{}{}路{}号",
            r.pick(&["汉", "汉", "汉", "回", "满", "壮"]),
            r.pick(&["初中", "高中", "小学", "中专", "大专"]),
            case.region.clone().unwrap_or_default(),
            r.pick(&["人民", "解放", "建设", "和平", "中山", "新华"]),
            r.range(1, 300)
        );
        let record = if r.chance(30) {
            format!(
                "另查明，被告人{name}曾于{}年因犯{}被判处有期徒刑{}个月，{}年刑满释放。",
                r.range(2005, 2013),
                r.pick(&["盗窃罪", "故意伤害罪", "诈骗罪", "寻衅滋事罪"]),
                r.range(6, 36),
                r.range(2008, 2014)
            )
        } else {
            format!("另查明，被告人{name}此前无违法犯罪记录。")
        };
        // a judgment appends the articles it applied, when their text is at hand
        let appendix: String = case
            .statutes
            .iter()
            .filter_map(|s| {
                self.quotes
                    .get(&s.article)
                    .map(|q| format!("\n《中华人民共和国刑法》第{}条　{q}", s.article))
            })
            .collect();
        let footer = format!(
            "\n审判长　{}某某\n人民陪审员　{}某\n人民陪审员　{}某\n{}\n书记员　{}某",
            r.pick(SURNAMES),
            r.pick(SURNAMES),
            r.pick(SURNAMES),
            case.date.map(|d| d.to_string()).unwrap_or_default(),
            r.pick(SURNAMES),
        );
        let found = facts.split("经审理查明：").nth(1).unwrap_or(&facts);
        let statements = format!(
            "被告人{name}在侦查阶段的供述证实：{}其对上述事实供认不讳，称作案时{}，事后{}。\n\
             被害人陈述证实：{}被害人称案发后{}，要求依法追究被告人的刑事责任并赔偿损失。\n",
            found.split("案发后").next().unwrap_or(found),
            r.pick(&["一时糊涂", "心存侥幸", "因生活拮据", "因与他人发生纠纷"]),
            r.pick(&["深感后悔", "主动联系被害人表示歉意", "将所得财物挥霍一空"]),
            found.split("案发后").next().unwrap_or(found),
            r.pick(&[
                "即向公安机关报案",
                "经他人提醒方才报警",
                "多次与被告人协商未果"
            ]),
        );
        let law = format!(
            "\n被告人{name}自愿如实供述自己的罪行，承认指控的犯罪事实，愿意接受处罚，依照《中华人民共和国刑事诉讼法》\
             第十五条的规定，可以依法从宽处理。关于财产刑，本院根据被告人犯罪的情节、违法所得数额、造成损失的大小及其\
             缴纳能力，依法确定罚金数额。{}对被告人的违法所得，依照《中华人民共和国刑法》第六十四条的规定予以追缴，\
             退赔被害人；作案工具予以没收。为维护社会管理秩序，保护公民的人身和财产权利不受侵犯，惩罚犯罪，\
             依照《中华人民共和国刑法》有关条款及《最高人民法院关于适用〈中华人民共和国刑事诉讼法〉的解释》的规定，判决如下。",
            r.pick(&[
                "被告人在案发后积极退赔，取得被害人谅解，可酌情从轻处罚。",
                "被告人未退赔被害人损失，亦未取得谅解，量刑时予以考虑。",
                "",
            ]),
        );
        case.sections.facts = format!("{account}{found}{record}\n{statements}{evidence}");
        case.sections.reasoning.push_str(&judged);
        case.sections.reasoning.push_str(&law);
        case.sections.result.push_str(&count);
        let header = header.replacen(
            &format!("被告人{name}，"),
            &format!("被告人{name}{born}，"),
            1,
        );
        let appendix = if appendix.is_empty() {
            appendix
        } else {
            format!("\n附：本判决适用的法律条文{appendix}")
        };
        case.full_text = format!(
            "{header}{}\n{}\n{}{footer}{appendix}",
            case.sections.facts, case.sections.reasoning, case.sections.result
        );
        case
    }
}

/// A date `YYYY年M月D日` in years `from..=to` (days 1–28, so every month has them).
fn date_zh(r: &mut SplitMix, from: u64, to: u64) -> String {
    format!(
        "{}年{}月{}日",
        r.range(from, to),
        r.range(1, 12),
        r.range(1, 28)
    )
}

/// The facts of one crime of `kind`.
fn fact_text(
    r: &mut SplitMix,
    kind: Kind,
    name: &str,
    victim: &str,
    city: &str,
    year: u16,
) -> String {
    let when = format!(
        "{year}年{}月{}日{}",
        r.range(1, 12),
        r.range(1, 28),
        r.pick(&["凌晨", "上午", "中午", "下午", "晚上", "深夜"])
    );
    let place = format!("{city}市{}", r.pick(PLACES));
    let amount = r.range(800, 300_000);
    match kind {
        Kind::Theft => {
            let goods = r.pick(GOODS);
            match r.range(0, 2) {
                0 => format!(
                    "{when}，被告人{name}窜至{place}，趁无人注意，使用{}撬开门锁，窃得被害人{victim}的{goods}，经价格认定价值人民币{amount}元。",
                    r.pick(TOOLS)
                ),
                1 => format!(
                    "{when}，被告人{name}在{place}趁被害人{victim}不备，从其身上扒窃{goods}一部（件），价值人民币{amount}元，得手后逃离现场。"
                ),
                _ => format!(
                    "{when}起至案发，被告人{name}先后{}次在{place}等地盗窃{goods}，共计价值人民币{amount}元，所得赃物均被其销赃挥霍。",
                    r.range(2, 12)
                ),
            }
        }
        Kind::Fraud => format!(
            "{when}，被告人{name}通过{}结识被害人{victim}后，{}，骗取被害人{victim}通过转账方式支付人民币{amount}元，后将钱款用于个人消费及偿还债务。",
            r.pick(APPS),
            r.pick(FRAUD_STORIES)
        ),
        Kind::Violence => {
            let weapon = r.pick(WEAPONS);
            format!(
                "{when}，被告人{name}在{place}因{}与被害人{victim}发生争执，继而持{weapon}殴打被害人{victim}头部、背部，致其{}。经鉴定，被害人{victim}的损伤程度为{}。",
                r.pick(&["琐事", "债务纠纷", "停车问题", "邻里矛盾", "感情纠纷"]),
                r.pick(&["头皮裂伤", "鼻骨骨折", "肋骨骨折", "多处软组织挫伤"]),
                r.pick(INJURIES)
            )
        }
        Kind::Traffic => {
            let vehicle = r.pick(VEHICLES);
            if r.chance(50) {
                format!(
                    "{when}，被告人{name}饮酒后驾驶{vehicle}行驶至{city}市某路段时被执勤民警查获。经鉴定，被告人{name}血液中乙醇含量为{}毫克/100毫升，属醉酒驾驶机动车。",
                    r.range(80, 260)
                )
            } else {
                format!(
                    "{when}，被告人{name}驾驶{vehicle}行驶至{city}市某路口时，未注意观察路面情况，与被害人{victim}驾驶的电动自行车相撞，造成被害人{victim}{}。经交警部门认定，被告人{name}负事故{}责任。",
                    r.pick(&["当场死亡", "经抢救无效死亡", "重伤"]),
                    r.pick(&["全部", "主要"])
                )
            }
        }
        Kind::Drugs => format!(
            "{when}，被告人{name}在{place}以人民币{}元的价格向{victim}出售{}约{}.{}克，交易完成后被公安民警当场抓获，并从其住处查获{}若干。",
            r.range(100, 5000),
            r.pick(DRUGS),
            r.range(0, 60),
            r.range(1, 9),
            r.pick(&["电子秤", "吸食工具", "分装袋"])
        ),
        Kind::Office => format!(
            "被告人{name}在担任{city}市{}{}期间，利用职务上的便利，{}，共计人民币{amount}元，用于个人投资及日常开销。",
            r.pick(UNITS),
            r.pick(&["出纳", "仓库管理员", "财务负责人", "项目经理", "村委会主任"]),
            r.pick(&[
                "通过虚开发票、虚列支出的方式将单位资金非法占为己有",
                "多次将单位账户资金转入个人账户",
                "收受他人财物并为他人在工程承揽方面谋取利益",
                "私自截留客户货款"
            ])
        ),
        Kind::Order => format!(
            "{when}，被告人{name}伙同他人在{place}{}，{}，造成恶劣社会影响。",
            r.pick(&[
                "借故生非，随意殴打他人",
                "组织多人进行赌博并从中抽头渔利",
                "以曝光隐私相威胁，向被害人索要钱财",
                "拒不配合民警依法执行职务，并推搡、撕扯民警"
            ]),
            format_args!("涉及金额人民币{amount}元")
        ),
        Kind::Network => format!(
            "{when}起，被告人{name}明知他人利用信息网络实施犯罪，仍通过{}{}，违法所得人民币{}元。",
            r.pick(APPS),
            r.pick(&[
                "出租、出售本人名下银行卡及支付账户供他人转移诈骗资金",
                "非法获取、出售公民个人信息共计数万条",
                "为他人提供手机卡、验证码接码服务"
            ]),
            r.range(500, 80_000)
        ),
    }
}

/// A sentence and its wording in the result, lighter with more mitigating circumstances.
fn sentence(r: &mut SplitMix, lighter: usize, heavier: usize) -> (Sentence, String) {
    let base = r.range(3, 120) as i64;
    let months = (base - 3 * lighter as i64 + 6 * heavier as i64).max(2) as u32;
    let fine = r.range(1, 50) * 1000;
    if months < 6 && r.chance(60) {
        let s = Sentence {
            penalty: Some(MainPenalty::Detention),
            term_months: Some(months),
            probation_months: None,
            fine_yuan: Some(fine),
        };
        return (s, format!("判处拘役{months}个月，并处罚金人民币{fine}元"));
    }
    let probation = (months <= 36 && lighter > 0 && r.chance(50)).then(|| months.max(12) + 6);
    let term = if months >= 12 {
        if months.is_multiple_of(12) {
            format!("{}年", months / 12)
        } else {
            format!("{}年{}个月", months / 12, months % 12)
        }
    } else {
        format!("{months}个月")
    };
    let text = match probation {
        Some(p) => format!("判处有期徒刑{term}，缓刑{p}个月，并处罚金人民币{fine}元"),
        None => format!("判处有期徒刑{term}，并处罚金人民币{fine}元"),
    };
    let s = Sentence {
        penalty: Some(MainPenalty::FixedTerm),
        term_months: Some(months),
        probation_months: probation,
        fine_yuan: Some(fine),
    };
    (s, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use leian_ingest::{read_path, Format, Item};

    fn generate(seed: u64, n: u64) -> Vec<String> {
        let quotes = HashMap::from([(264, "盗窃公私财物，数额较大的".to_string())]);
        let g = Generator::new(seed, quotes);
        (0..n)
            .map(|i| serde_json::to_string(&g.case(i)).unwrap())
            .collect()
    }

    #[test]
    fn a_full_length_judgment_is_the_same_case_told_at_length() {
        let quotes = HashMap::from([(264, "盗窃公私财物，数额较大的".to_string())]);
        let g = Generator::new(5, quotes);
        for n in 0..50 {
            let (short, full) = (g.case(n), g.full_case(n));
            assert_eq!((&full.id, &full.charges), (&short.id, &short.charges));
            assert_eq!(full, g.full_case(n), "deterministic");
            let chars = full.full_text.chars().count();
            assert!((2_000..6_000).contains(&chars), "{chars}");
            for part in [
                "刑事判决书",
                "公诉机关指控",
                "经查",
                "本院认为",
                "判决如下",
                "审判长",
            ] {
                assert!(full.full_text.contains(part), "{part} missing in case {n}");
            }
            // the defendant named in the facts is the one of the header
            let name = short
                .sections
                .facts
                .split("被告人")
                .nth(1)
                .unwrap()
                .split('，')
                .next()
                .unwrap();
            assert!(
                full.full_text
                    .contains(&format!("辩护人提出的辩护意见是：被告人{name}"))
                    || full.full_text.contains(&format!("被告人{name}及其辩护人"))
            );
            assert!(full.sections.facts.chars().count() > short.sections.facts.chars().count());
        }
    }

    #[test]
    fn same_seed_same_corpus_other_seed_other_corpus() {
        let a = generate(7, 200);
        assert_eq!(a, generate(7, 200));
        let b = generate(8, 200);
        assert_eq!(a.len(), b.len());
        assert!(a.iter().zip(&b).filter(|(x, y)| x != y).count() > 190);
        // cases are independent of how many are generated
        assert_eq!(generate(7, 50)[..], a[..50]);
    }

    #[test]
    fn generated_cases_ingest_with_their_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gen.jsonl");
        std::fs::write(&path, generate(3, 300).join("\n")).unwrap();
        let records = read_path(&path, Format::Auto).unwrap();
        assert_eq!(records.len(), 300);
        let mut charges = std::collections::BTreeSet::new();
        let mut quoted = 0;
        for rec in records {
            let Ok(Item::Case(case)) = rec else {
                panic!("not a case: {rec:?}");
            };
            assert!(case.id.as_str().starts_with("gen:"));
            assert!(case.sections.facts.contains("经审理查明"), "{}", case.id);
            assert!(case.sections.result.contains("判决如下"), "{}", case.id);
            assert!(case.court.as_deref().is_some_and(|c| c.ends_with("法院")));
            assert!(case.court_level.is_some() && case.region.is_some());
            assert!(case.date.is_some() && case.sentence.term_months.is_some());
            assert!(!case.statutes.is_empty() && !case.charges.is_empty());
            // the stored level agrees with what leian infers from the court's name
            assert_eq!(
                CourtLevel::from_court_name(case.court.as_deref().unwrap_or_default()),
                case.court_level,
                "{}",
                case.id
            );
            quoted += usize::from(case.sections.reasoning.contains("盗窃公私财物"));
            charges.extend(case.charges.clone());
        }
        assert!(charges.len() >= 15, "too few charges: {charges:?}");
        assert!(quoted > 0, "no article was quoted");
    }
}
