//! Charges (罪名) resolved to the 刑法 article that defines them, and that article's place
//! in the code's structure (分则 chapter and section), so that two cases can be compared
//! in law: `贩卖毒品罪` and `走私、贩卖、运输、制造毒品罪` are one charge (art. 347);
//! `盗窃罪` and `诈骗罪` are different charges of the same chapter (侵犯财产罪).
//!
//! The table below is written from the 刑法 itself (the charge names of the SPC/SPP
//! 罪名 provisions with the article defining each, plus the older or colloquial names
//! judgments still use). Chapter and section come from article ranges of 分则, which
//! are fixed by the law's structure (amendments add `之一` articles inside a range).
//! A name not in the table resolves when it is a specific form of a selective charge
//! (its characters appear in order in the table name, `非法持有枪支` →
//! `非法持有、私藏枪支、弹药`); the shortest such name wins.

use serde::Serialize;

/// Where a charge sits in the 刑法.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
pub struct ChargeArticle {
    /// The defining article (之一/之二 articles share their base number).
    pub article: u16,
    /// 分则 chapter, 1–10.
    pub chapter: u8,
    /// Section within the chapter (节), 0 when the chapter has none.
    pub section: u8,
}

impl ChargeArticle {
    /// The chapter and section as one key (`chapter * 16 + section`).
    pub fn section_key(&self) -> u16 {
        u16::from(self.chapter) * 16 + u16::from(self.section)
    }
}

/// 分则 chapters as (first article, chapter, chapter title).
const CHAPTERS: &[(u16, u8, &str)] = &[
    (102, 1, "危害国家安全罪"),
    (114, 2, "危害公共安全罪"),
    (140, 3, "破坏社会主义市场经济秩序罪"),
    (232, 4, "侵犯公民人身权利、民主权利罪"),
    (263, 5, "侵犯财产罪"),
    (277, 6, "妨害社会管理秩序罪"),
    (368, 7, "危害国防利益罪"),
    (382, 8, "贪污贿赂罪"),
    (397, 9, "渎职罪"),
    (420, 10, "军人违反职责罪"),
];

/// Sections of chapters 3 and 6 as (first article, section).
const SECTIONS_CH3: &[(u16, u8)] = &[
    (140, 1),
    (151, 2),
    (158, 3),
    (170, 4),
    (192, 5),
    (201, 6),
    (213, 7),
    (221, 8),
];
const SECTIONS_CH6: &[(u16, u8)] = &[
    (277, 1),
    (305, 2),
    (318, 3),
    (324, 4),
    (330, 5),
    (338, 6),
    (347, 7),
    (358, 8),
    (363, 9),
];

/// The chapter and section of a 分则 article; `None` outside 102–451.
pub fn article_place(article: u16) -> Option<ChargeArticle> {
    if !(102..=451).contains(&article) {
        return None;
    }
    let chapter = CHAPTERS
        .iter()
        .rev()
        .find(|(first, _, _)| article >= *first)
        .map(|(_, c, _)| *c)?;
    let sections = match chapter {
        3 => SECTIONS_CH3,
        6 => SECTIONS_CH6,
        _ => &[],
    };
    let section = sections
        .iter()
        .rev()
        .find(|(first, _)| article >= *first)
        .map(|(_, s)| *s)
        .unwrap_or(0);
    Some(ChargeArticle {
        article,
        chapter,
        section,
    })
}

/// The title of a 分则 chapter (1–10).
pub fn chapter_title(chapter: u8) -> Option<&'static str> {
    CHAPTERS
        .iter()
        .find(|(_, c, _)| *c == chapter)
        .map(|(_, _, t)| *t)
}

/// Charge names (without `罪`) and their defining article.
const CHARGE_TABLE: &[(&str, u16)] = &[
    // 第二章 危害公共安全罪
    ("放火", 114),
    ("决水", 114),
    ("爆炸", 114),
    ("投放危险物质", 114),
    ("以危险方法危害公共安全", 114),
    ("失火", 115),
    ("过失投放危险物质", 115),
    ("过失以危险方法危害公共安全", 115),
    ("破坏交通工具", 116),
    ("破坏交通设施", 117),
    ("破坏电力设备", 118),
    ("破坏易燃易爆设备", 118),
    ("组织、领导、参加恐怖组织", 120),
    ("劫持航空器", 121),
    ("劫持船只、汽车", 122),
    ("破坏广播电视设施、公用电信设施", 124),
    ("非法制造、买卖、运输、邮寄、储存枪支、弹药、爆炸物", 125),
    ("非法制造、买卖、运输、储存危险物质", 125),
    ("盗窃、抢夺枪支、弹药、爆炸物、危险物质", 127),
    ("抢劫枪支、弹药、爆炸物、危险物质", 127),
    ("非法持有、私藏枪支、弹药", 128),
    ("非法出租、出借枪支", 128),
    ("非法携带枪支、弹药、管制刀具、危险物品危及公共安全", 130),
    ("交通肇事", 133),
    ("危险驾驶", 133),
    ("妨害安全驾驶", 133),
    ("重大责任事故", 134),
    ("强令、组织他人违章冒险作业", 134),
    ("重大劳动安全事故", 135),
    ("危险物品肇事", 136),
    ("工程重大安全事故", 137),
    ("消防责任事故", 139),
    ("不报、谎报安全事故", 139),
    // 第三章 破坏社会主义市场经济秩序罪
    ("生产、销售伪劣产品", 140),
    ("生产、销售、提供假药", 141),
    ("生产、销售、提供劣药", 142),
    ("生产、销售不符合安全标准的食品", 143),
    ("生产、销售有毒、有害食品", 144),
    ("生产、销售伪劣农药、兽药、化肥、种子", 147),
    ("走私武器、弹药", 151),
    ("走私假币", 151),
    ("走私文物", 151),
    ("走私珍贵动物、珍贵动物制品", 151),
    ("走私国家禁止进出口的货物、物品", 151),
    ("走私淫秽物品", 152),
    ("走私废物", 152),
    ("走私普通货物、物品", 153),
    ("虚报注册资本", 158),
    ("虚假出资、抽逃出资", 159),
    ("欺诈发行证券", 160),
    ("隐匿、故意销毁会计凭证、会计账簿、财务会计报告", 162),
    ("非国家工作人员受贿", 163),
    ("对非国家工作人员行贿", 164),
    ("对外国公职人员、国际公共组织官员行贿", 164),
    ("国有公司、企业、事业单位人员滥用职权", 168),
    ("国有公司、企业、事业单位人员失职", 168),
    ("伪造货币", 170),
    ("出售、购买、运输假币", 171),
    ("持有、使用假币", 172),
    ("变造货币", 173),
    ("高利转贷", 175),
    ("骗取贷款、票据承兑、金融票证", 175),
    ("非法吸收公众存款", 176),
    ("伪造、变造金融票证", 177),
    ("妨害信用卡管理", 177),
    ("窃取、收买、非法提供信用卡信息", 177),
    ("内幕交易、泄露内幕信息", 180),
    ("违法发放贷款", 186),
    ("违规出具金融票证", 188),
    ("对违法票据承兑、付款、保证", 189),
    ("洗钱", 191),
    ("集资诈骗", 192),
    ("贷款诈骗", 193),
    ("票据诈骗", 194),
    ("金融凭证诈骗", 194),
    ("信用证诈骗", 195),
    ("信用卡诈骗", 196),
    ("有价证券诈骗", 197),
    ("保险诈骗", 198),
    ("逃税", 201),
    ("偷税", 201),
    ("抗税", 202),
    ("骗取出口退税", 204),
    ("虚开增值税专用发票、用于骗取出口退税、抵扣税款发票", 205),
    ("虚开发票", 205),
    ("非法出售增值税专用发票", 207),
    ("非法制造、出售非法制造的发票", 209),
    ("持有伪造的发票", 210),
    ("假冒注册商标", 213),
    ("销售假冒注册商标的商品", 214),
    ("非法制造、销售非法制造的注册商标标识", 215),
    ("侵犯著作权", 217),
    ("侵犯商业秘密", 219),
    ("损害商业信誉、商品声誉", 221),
    ("虚假广告", 222),
    ("串通投标", 223),
    ("合同诈骗", 224),
    ("组织、领导传销活动", 224),
    ("非法经营", 225),
    ("强迫交易", 226),
    ("伪造、倒卖伪造的有价票证", 227),
    ("倒卖车票、船票", 227),
    ("非法转让、倒卖土地使用权", 228),
    ("提供虚假证明文件", 229),
    // 第四章 侵犯公民人身权利、民主权利罪
    ("故意杀人", 232),
    ("过失致人死亡", 233),
    ("故意伤害", 234),
    ("组织出卖人体器官", 234),
    ("过失致人重伤", 235),
    ("强奸", 236),
    ("强制猥亵、侮辱", 237),
    ("猥亵儿童", 237),
    ("非法拘禁", 238),
    ("绑架", 239),
    ("拐卖妇女、儿童", 240),
    ("收买被拐卖的妇女、儿童", 241),
    ("诬告陷害", 243),
    ("强迫劳动", 244),
    ("非法搜查", 245),
    ("非法侵入住宅", 245),
    ("侮辱", 246),
    ("诽谤", 246),
    ("刑讯逼供", 247),
    ("侵犯公民个人信息", 253),
    ("重婚", 258),
    ("破坏军婚", 259),
    ("虐待", 260),
    ("遗弃", 261),
    ("拐骗儿童", 262),
    // 第五章 侵犯财产罪
    ("抢劫", 263),
    ("盗窃", 264),
    ("诈骗", 266),
    ("抢夺", 267),
    ("聚众哄抢", 268),
    ("侵占", 270),
    ("职务侵占", 271),
    ("挪用资金", 272),
    ("挪用特定款物", 273),
    ("敲诈勒索", 274),
    ("故意毁坏财物", 275),
    ("破坏生产经营", 276),
    ("拒不支付劳动报酬", 276),
    // 第六章 妨害社会管理秩序罪
    ("妨害公务", 277),
    ("妨碍公务", 277),
    ("袭警", 277),
    ("招摇撞骗", 279),
    ("伪造、变造、买卖国家机关公文、证件、印章", 280),
    ("盗窃、抢夺、毁灭国家机关公文、证件、印章", 280),
    ("伪造公司、企业、事业单位、人民团体印章", 280),
    ("伪造、变造、买卖身份证件", 280),
    ("伪造、变造居民身份证", 280),
    ("非法生产、买卖警用装备", 281),
    ("非法获取国家秘密", 282),
    ("非法生产、销售专用间谍器材、窃听、窃照专用器材", 283),
    ("非法侵入计算机信息系统", 285),
    ("非法获取计算机信息系统数据、非法控制计算机信息系统", 285),
    ("提供侵入、非法控制计算机信息系统程序、工具", 285),
    ("破坏计算机信息系统", 286),
    ("非法利用信息网络", 287),
    ("帮助信息网络犯罪活动", 287),
    ("扰乱无线电通讯管理秩序", 288),
    ("聚众扰乱社会秩序", 290),
    ("聚众冲击国家机关", 290),
    ("聚众扰乱公共场所秩序、交通秩序", 291),
    ("投放虚假危险物质", 291),
    ("编造、故意传播虚假恐怖信息", 291),
    ("聚众斗殴", 292),
    ("寻衅滋事", 293),
    ("组织、领导、参加黑社会性质组织", 294),
    ("包庇、纵容黑社会性质组织", 294),
    ("传授犯罪方法", 295),
    ("聚众淫乱", 301),
    ("盗窃、侮辱、故意毁坏尸体、尸骨、骨灰", 302),
    ("赌博", 303),
    ("开设赌场", 303),
    ("伪证", 305),
    ("辩护人、诉讼代理人毁灭证据、伪造证据、妨害作证", 306),
    ("妨害作证", 307),
    ("帮助毁灭、伪造证据", 307),
    ("虚假诉讼", 307),
    ("打击报复证人", 308),
    ("扰乱法庭秩序", 309),
    ("窝藏、包庇", 310),
    ("掩饰、隐瞒犯罪所得、犯罪所得收益", 312),
    ("拒不执行判决、裁定", 313),
    ("非法处置查封、扣押、冻结的财产", 314),
    ("破坏监管秩序", 315),
    ("脱逃", 316),
    ("组织越狱", 317),
    ("组织他人偷越国（边）境", 318),
    ("运送他人偷越国（边）境", 321),
    ("偷越国（边）境", 322),
    ("故意损毁文物", 324),
    ("倒卖文物", 326),
    ("盗掘古文化遗址、古墓葬", 328),
    ("妨害传染病防治", 330),
    ("非法组织卖血", 333),
    ("强迫卖血", 333),
    ("医疗事故", 335),
    ("非法行医", 336),
    ("污染环境", 338),
    ("非法捕捞水产品", 340),
    ("危害珍贵、濒危野生动物", 341),
    ("非法猎捕、杀害珍贵、濒危野生动物", 341),
    (
        "非法收购、运输、出售珍贵、濒危野生动物、珍贵、濒危野生动物制品",
        341,
    ),
    ("非法狩猎", 341),
    ("非法占用农用地", 342),
    ("非法采矿", 343),
    ("破坏性采矿", 343),
    ("危害国家重点保护植物", 344),
    ("非法采伐、毁坏国家重点保护植物", 344),
    (
        "非法收购、运输、加工、出售国家重点保护植物、国家重点保护植物制品",
        344,
    ),
    ("盗伐林木", 345),
    ("滥伐林木", 345),
    ("非法收购、运输盗伐、滥伐的林木", 345),
    ("走私、贩卖、运输、制造毒品", 347),
    ("非法持有毒品", 348),
    ("包庇毒品犯罪分子", 349),
    ("窝藏、转移、隐瞒毒品、毒赃", 349),
    ("非法生产、买卖、运输制毒物品、走私制毒物品", 350),
    ("非法买卖制毒物品", 350),
    ("非法种植毒品原植物", 351),
    ("非法买卖、运输、携带、持有毒品原植物种子、幼苗", 352),
    ("引诱、教唆、欺骗他人吸毒", 353),
    ("强迫他人吸毒", 353),
    ("容留他人吸毒", 354),
    ("非法提供麻醉药品、精神药品", 355),
    ("组织卖淫", 358),
    ("强迫卖淫", 358),
    ("协助组织卖淫", 358),
    ("引诱、容留、介绍卖淫", 359),
    ("引诱幼女卖淫", 359),
    ("传播性病", 360),
    ("嫖宿幼女", 360),
    ("制作、复制、出版、贩卖、传播淫秽物品牟利", 363),
    ("传播淫秽物品", 364),
    ("组织播放淫秽音像制品", 364),
    ("组织淫秽表演", 365),
    // 第七章 危害国防利益罪
    ("破坏武器装备、军事设施、军事通信", 369),
    ("过失损坏武器装备、军事设施、军事通信", 369),
    ("聚众冲击军事禁区", 371),
    ("聚众扰乱军事管理区秩序", 371),
    ("冒充军人招摇撞骗", 372),
    ("伪造、变造、买卖武装部队公文、证件、印章", 375),
    // 第八章 贪污贿赂罪
    ("贪污", 382),
    ("挪用公款", 384),
    ("受贿", 385),
    ("单位受贿", 387),
    ("利用影响力受贿", 388),
    ("行贿", 389),
    ("对有影响力的人行贿", 390),
    ("对单位行贿", 391),
    ("介绍贿赂", 392),
    ("单位行贿", 393),
    ("巨额财产来源不明", 395),
    ("隐瞒境外存款", 395),
    ("私分国有资产", 396),
    ("私分罚没财物", 396),
    // 第九章 渎职罪
    ("滥用职权", 397),
    ("玩忽职守", 397),
    ("故意泄露国家秘密", 398),
    ("徇私枉法", 399),
    ("民事、行政枉法裁判", 399),
    ("私放在押人员", 400),
    ("徇私舞弊减刑、假释、暂予监外执行", 401),
    ("徇私舞弊不移交刑事案件", 402),
    ("滥用管理公司、证券职权", 403),
    ("徇私舞弊不征、少征税款", 404),
    ("违法发放林木采伐许可证", 407),
    ("环境监管失职", 408),
    ("食品、药品监管渎职", 408),
    ("动植物检疫徇私舞弊", 413),
    ("放纵制售伪劣商品犯罪行为", 414),
    ("帮助犯罪分子逃避处罚", 417),
    ("招收公务员、学生徇私舞弊", 418),
];

/// The key a charge name is compared by: trimmed, without a final `。`, `罪`, or a
/// parenthesised stage (`故意杀人（未遂）罪` → `故意杀人`).
pub fn charge_key(name: &str) -> String {
    let mut s = name.trim().trim_end_matches(['。', '.', '；', ';']).trim();
    s = s.trim_end_matches('罪');
    let mut out = s.to_string();
    for stage in [
        "（未遂）",
        "(未遂)",
        "（既遂）",
        "(既遂)",
        "（预备）",
        "（中止）",
    ] {
        out = out.replace(stage, "");
    }
    out.trim().to_string()
}

fn is_subsequence(short: &str, long: &str) -> bool {
    let mut long = long.chars();
    short.chars().all(|c| long.any(|l| l == c))
}

/// Resolves a charge name to its 刑法 article; `None` for names that are not criminal
/// charges known to the table (causes of action such as `民间借贷纠纷`, fragments).
pub fn resolve_charge(name: &str) -> Option<ChargeArticle> {
    let key = charge_key(name);
    if key.chars().count() < 2 {
        return None;
    }
    if let Some((_, a)) = CHARGE_TABLE.iter().find(|(n, _)| *n == key) {
        return article_place(*a);
    }
    // a specific form of a selective charge, or the same name without its 、
    let bare: String = key.chars().filter(|&c| c != '、').collect();
    CHARGE_TABLE
        .iter()
        .filter(|(n, _)| is_subsequence(&bare, n))
        .min_by_key(|(n, _)| n.chars().count())
        .and_then(|(_, a)| article_place(*a))
}

/// The articles of a list of charges, sorted, without duplicates.
pub fn resolve_charges<S: AsRef<str>>(names: &[S]) -> Vec<ChargeArticle> {
    let mut out: Vec<ChargeArticle> = names
        .iter()
        .filter_map(|n| resolve_charge(n.as_ref()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The canonical (table) name of an article's first charge, for display.
pub fn article_charge_name(article: u16) -> Option<&'static str> {
    CHARGE_TABLE
        .iter()
        .find(|(_, a)| *a == article)
        .map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn art(name: &str) -> Option<u16> {
        resolve_charge(name).map(|c| c.article)
    }

    #[test]
    fn selective_charges_resolve_to_one_article() {
        assert_eq!(art("贩卖毒品罪"), Some(347));
        assert_eq!(art("走私、贩卖、运输、制造毒品罪"), Some(347));
        assert_eq!(art("贩卖、运输毒品罪"), Some(347));
        assert_eq!(art("非法持有枪支罪"), Some(128));
        assert_eq!(art("掩饰、隐瞒犯罪所得罪"), Some(312));
        assert_eq!(art("掩饰隐瞒犯罪所得、犯罪所得收益罪"), Some(312));
        assert_eq!(art("组织领导黑社会性质组织罪"), Some(294));
    }

    #[test]
    fn names_differing_in_one_word_stay_apart() {
        assert_eq!(art("诈骗罪"), Some(266));
        assert_eq!(art("票据诈骗罪"), Some(194));
        assert_eq!(art("赌博罪"), Some(303));
        assert_eq!(art("盗窃。"), Some(264));
        assert_eq!(art("故意杀人（未遂）罪"), Some(232));
        assert_eq!(art("窝藏"), Some(310), "the shorter selective name wins");
        assert_eq!(art("民间借贷纠纷"), None);
        assert_eq!(art("罪"), None);
    }

    #[test]
    fn chapters_and_sections_follow_the_code() {
        let theft = resolve_charge("盗窃罪").unwrap();
        let fraud = resolve_charge("诈骗罪").unwrap();
        assert_eq!((theft.chapter, theft.section), (5, 0));
        assert_eq!(theft.section_key(), fraud.section_key());
        let drugs = resolve_charge("容留他人吸毒罪").unwrap();
        let gambling = resolve_charge("开设赌场罪").unwrap();
        assert_eq!((drugs.chapter, drugs.section), (6, 7));
        assert_eq!((gambling.chapter, gambling.section), (6, 1));
        assert_eq!(resolve_charge("信用卡诈骗罪").unwrap().section, 5);
        assert_eq!(chapter_title(8), Some("贪污贿赂罪"));
        assert_eq!(article_place(101), None);
        assert_eq!(article_place(451).map(|p| p.chapter), Some(10));
    }

    #[test]
    fn every_table_article_lies_in_the_special_part() {
        for (name, a) in CHARGE_TABLE {
            assert!(article_place(*a).is_some(), "{name}: {a}");
        }
    }
}
