//! A deterministic generator of a synthetic news corpus with planted reuse,
//! for benchmarks and recall/precision tests.
//!
//! [`generate`] writes, under `out_dir`:
//!
//! * `corpus/NNNNNN.txt` — one document a file, names zero-padded to at
//!   least six digits (`corpus/000042.txt`; the id is the file stem);
//! * `corpus/manifest.csv` — `file,outlet,published,url`, one row a
//!   document (`published` is `YYYY-MM-DD` or empty, `url` may be empty), so
//!   `wiretrace scan OUT/corpus` picks up the metadata by itself;
//! * `truth.json` — what was planted (outside `corpus/`, so a scan of
//!   `corpus/` reads every file and skips none).
//!
//! Documents are written as they are made, so memory stays flat in the
//! number of documents. The same `(docs, seed)` gives byte-identical files.
//!
//! # What is in the corpus
//!
//! About one document in eight is a *wire story* (outlet `Reuters`, `AP` or
//! `AFP`, dateline `CITY (Reuters) - `), reprinted by 2–5 other outlets
//! with copy-desk edits; every other document is an unrelated story on the
//! same topics, written from the same word lists and stock phrases ("said in
//! a statement", "U.S. Secretary of State", "did not immediately respond to
//! a request for comment"). Some outlets wrap every page in their own site
//! chrome (navigation, share buttons, a copyright footer) and reader
//! comments. Dates: a wire story is published first, its reprints one to
//! three days later; some reprints have no date.
//!
//! # `truth.json`
//!
//! ```json
//! {
//!   "version": 1,
//!   "docs": 300,
//!   "passages": [
//!     {"original": "000017", "copy": "000254",
//!      "original_span": [120, 2811], "copy_span": [310, 2633],
//!      "edits": ["cut", "spelling", "quotes"]}
//!   ],
//!   "clusters": [
//!     {"original": "000017", "docs": ["000017", "000093", "000254"]}
//!   ]
//! }
//! ```
//!
//! * `passages`: one entry per (wire story, reprint) pair. `original_span`
//!   and `copy_span` are half-open byte ranges `[start, end)` into the two
//!   files as written (UTF-8, on character boundaries): from the first to
//!   the last byte of the wire paragraphs the reprint carries, in each file.
//!   A rewritten lead is new text and lies outside `copy_span`; reordered
//!   paragraphs stay inside it.
//! * `edits`, each present when the reprint underwent it:
//!   `cut` (one or more paragraphs dropped), `lead` (lead paragraph
//!   rewritten), `reorder` (two paragraphs swapped), `spelling` (British ↔
//!   American: `-ise`/`-ize`, `-our`/`-or`, `-re`/`-er`, `defence`), `quotes`
//!   (curly ↔ straight quotation marks and apostrophes), `us` (`U.S.` ↔
//!   `US`), `swap` (words replaced: `militants` → `terrorists`, ...),
//!   `dateline` (the wire dateline removed), `credit` (the wire is named:
//!   `Reuters reported`, a kept dateline or a contribution line), `page`
//!   (embedded in site chrome with reader comments).
//! * `clusters`: one entry per reprinted wire story: the wire document and
//!   every reprint of it, ids sorted. Two documents not in one cluster share
//!   no planted text (only stock phrases and, within one outlet, its chrome).

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde::Serialize;

/// What [`generate`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenSummary {
    /// Documents written.
    pub docs: usize,
    /// Wire stories that were reprinted (clusters in `truth.json`).
    pub clusters: usize,
    /// Planted (original, copy) passages in `truth.json`.
    pub passages: usize,
    /// Bytes of document text written.
    pub bytes: u64,
}

/// Write a corpus of `docs` documents generated from `seed` under
/// `out_dir` (see the module documentation for the layout and the format
/// of `truth.json`).
///
/// `out_dir/corpus` must not exist or be empty: stale files of an earlier
/// run would otherwise mix with the new ones.
pub fn generate(out_dir: &Path, docs: usize, seed: u64) -> io::Result<GenSummary> {
    let corpus_dir = out_dir.join("corpus");
    if corpus_dir.exists() && fs::read_dir(&corpus_dir)?.next().is_some() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} is not empty", corpus_dir.display()),
        ));
    }
    fs::create_dir_all(&corpus_dir)?;
    let mut g = Generator {
        rng: Rng::new(seed),
        corpus_dir: &corpus_dir,
        width: 6.max(digits(docs.saturating_sub(1))),
        perm: Permutation::new(docs),
        manifest: BufWriter::new(File::create(corpus_dir.join("manifest.csv"))?),
        truth: BufWriter::new(File::create(out_dir.join("truth.json"))?),
        clusters_path: out_dir.join(".truth-clusters.tmp"),
        clusters: None,
        summary: GenSummary::default(),
    };
    g.clusters = Some(BufWriter::new(File::create(&g.clusters_path)?));
    writeln!(g.manifest, "file,outlet,published,url")?;
    write!(
        g.truth,
        "{{\n  \"version\": 1,\n  \"docs\": {docs},\n  \"passages\": ["
    )?;
    let mut next = 0;
    while next < docs {
        let left = docs - next;
        // A wire group has 1 + (2..=5) documents; a share of 2/9 of the
        // groups makes about one document in eight a reprinted wire story.
        if left >= 3 && g.rng.chance(2.0 / 9.0) {
            let copies = g.rng.range(2, 5).min(left - 1);
            g.wire_group(next, copies)?;
            next += 1 + copies;
        } else {
            g.single(next)?;
            next += 1;
        }
    }
    g.finish()
}

fn digits(mut n: usize) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// splitmix64: small, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x6A09_E667_F3BC_C908)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n == 0`).
    fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

/// A bijection of `0..n` (`i * a + c mod n`), so that the documents of one
/// cluster get scattered ids.
struct Permutation {
    n: usize,
    a: usize,
    c: usize,
}

impl Permutation {
    fn new(n: usize) -> Self {
        let mut a = (n as f64 * 0.618_034) as usize + 1;
        while n > 1 && gcd(a, n) != 1 {
            a += 1;
        }
        Permutation { n, a, c: n / 3 }
    }

    fn apply(&self, i: usize) -> usize {
        if self.n <= 1 {
            return i;
        }
        ((i as u128 * self.a as u128 + self.c as u128) % self.n as u128) as usize
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

// ---------------------------------------------------------------- outlets

/// How an outlet writes and presents a story.
#[derive(Debug, Clone, Copy)]
struct Outlet {
    name: &'static str,
    domain: &'static str,
    /// British spelling.
    british: bool,
    /// Curly quotation marks and apostrophes.
    curly: bool,
    /// `U.S.` (true) or `US`.
    dots: bool,
    /// Index into [`CHROME`]: the page around every story of this outlet.
    chrome: Option<usize>,
    /// Relative frequency.
    weight: usize,
}

const fn outlet(
    name: &'static str,
    domain: &'static str,
    british: bool,
    curly: bool,
    dots: bool,
    chrome: Option<usize>,
    weight: usize,
) -> Outlet {
    Outlet {
        name,
        domain,
        british,
        curly,
        dots,
        chrome,
        weight,
    }
}

const WIRES: [Outlet; 3] = [
    outlet(
        "Reuters",
        "wire.example/reuters",
        false,
        false,
        true,
        None,
        1,
    ),
    outlet("AP", "wire.example/ap", false, false, true, None, 1),
    outlet("AFP", "wire.example/afp", true, true, false, None, 1),
];

const OUTLETS: [Outlet; 12] = [
    outlet(
        "The Daily Ledger",
        "dailyledger.example",
        false,
        true,
        true,
        Some(0),
        4,
    ),
    outlet(
        "Harbour City Herald",
        "hchherald.example",
        true,
        true,
        false,
        Some(1),
        4,
    ),
    outlet(
        "NewsHub Online",
        "newshub.example",
        false,
        false,
        false,
        Some(2),
        4,
    ),
    outlet(
        "The Northern Gazette",
        "northerngazette.example",
        true,
        false,
        true,
        None,
        1,
    ),
    outlet(
        "Evening Courier",
        "eveningcourier.example",
        true,
        true,
        true,
        None,
        1,
    ),
    outlet(
        "Metro Tribune",
        "metrotribune.example",
        false,
        true,
        true,
        None,
        1,
    ),
    outlet(
        "Capital Observer",
        "capitalobserver.example",
        false,
        false,
        true,
        None,
        1,
    ),
    outlet(
        "Coastal Times",
        "coastaltimes.example",
        false,
        true,
        false,
        None,
        1,
    ),
    outlet(
        "Valley Sentinel",
        "valleysentinel.example",
        false,
        false,
        true,
        None,
        1,
    ),
    outlet(
        "The Plains Record",
        "plainsrecord.example",
        true,
        false,
        false,
        None,
        1,
    ),
    outlet(
        "Global Dispatch",
        "globaldispatch.example",
        true,
        true,
        false,
        None,
        1,
    ),
    outlet(
        "Riverside Chronicle",
        "riversidechronicle.example",
        false,
        true,
        true,
        None,
        1,
    ),
];

/// Site chrome: (header, footer before comments, footer after comments).
const CHROME: [(&str, &str, &str); 3] = [
    (
        "THE DAILY LEDGER\nHome | World | Politics | Business | Markets | Opinion | Sport | Subscribe now\nAdvertisement - scroll to continue reading\n\n",
        "\n\nShare this article: Facebook | X | LinkedIn | Email | Print\nSign up for the Morning Ledger newsletter and get the day's top stories delivered to your inbox every weekday.\n\nReader comments",
        "\n\nCopyright The Daily Ledger Media Company. All rights reserved. This material may not be published, broadcast, rewritten or redistributed without permission. Terms of Service | Privacy Policy | Cookie Preferences | Contact the Newsroom\n",
    ),
    (
        "Harbour City Herald - Independent news since 1898\nNews > World > Latest\nYou have 3 free articles remaining this month. Subscribe for unlimited access.\n\n",
        "\n\nMost read today: Harbour traffic plan | Council budget row | Weekend weather\nDo you have a story for us? Email the newsdesk or message us on our tip line.\n\nHave your say",
        "\n\nHarbour City Herald is part of Harbourside Media Holdings. Registered office: 14 Quay Street. All content is copyright and may not be reproduced. Accessibility | Complaints | Advertise with us | Jobs\n",
    ),
    (
        "NewsHub Online | Breaking news, analysis and video\nTrending: Elections | Markets | Climate | Tech | Health\nThis page contains affiliate links. We may earn a commission.\n\n",
        "\n\nRelated coverage on NewsHub: more stories from this region, updated live throughout the day by our editors.\nFollow NewsHub on social media and turn on notifications to never miss a story.\n\nDiscussion",
        "\n\nNewsHub Online is owned and operated by NH Digital Ventures. Copyright all rights reserved. About us | Editorial standards | Corrections policy | Privacy | Terms\n",
    ),
];

// ------------------------------------------------------------- word lists

struct Topic {
    subjects: &'static [&'static str],
    verbs: &'static [&'static str],
    objects: &'static [&'static str],
    adjuncts: &'static [&'static str],
    titles: &'static [&'static str],
    orgs: &'static [&'static str],
}

const TOPICS: [Topic; 6] = [
    Topic {
        subjects: &[
            "militants",
            "government troops",
            "the army",
            "rebels",
            "security forces",
            "the coalition",
            "NATO forces",
            "the militia",
            "border guards",
            "peacekeepers",
            "the air force",
            "special forces",
        ],
        verbs: &[
            "attacked",
            "seized",
            "withdrew from",
            "shelled",
            "surrounded",
            "secured",
            "bombed",
            "abandoned",
            "reinforced",
            "patrolled",
            "raided",
            "recaptured",
        ],
        objects: &[
            "a checkpoint near the border",
            "the provincial capital",
            "two villages in the north",
            "a military base",
            "the main highway",
            "a supply convoy",
            "the airport",
            "several outposts",
            "the eastern district",
            "a police station",
            "the mountain pass",
            "a fuel depot",
        ],
        adjuncts: &[
            "late on Sunday",
            "before dawn",
            "after weeks of fighting",
            "despite a ceasefire",
            "in a coordinated operation",
            "under heavy fire",
            "for the first time since March",
            "according to local residents",
            "amid rising tensions",
            "without warning",
            "near the defense ministry's regional center",
        ],
        titles: &[
            "U.S. Secretary of State",
            "chairman of the Joint Chiefs of Staff",
            "defense minister",
            "army spokesman",
            "provincial governor",
            "interior minister",
            "police chief",
        ],
        orgs: &[
            "the Defense Ministry",
            "the Pentagon",
            "the United Nations",
            "the Interior Ministry",
            "a military spokesman",
            "the provincial government",
            "the U.S. Embassy",
        ],
    },
    Topic {
        subjects: &[
            "the central bank",
            "the finance ministry",
            "exporters",
            "investors",
            "the government",
            "consumer spending",
            "the stock market",
            "manufacturers",
            "the labor market",
            "retail sales",
            "small businesses",
            "bond traders",
        ],
        verbs: &[
            "raised",
            "cut",
            "kept",
            "weighed",
            "revised",
            "boosted",
            "slashed",
            "doubled",
            "forecast",
            "questioned",
            "criticized",
            "defended",
        ],
        objects: &[
            "interest rates",
            "its growth forecast",
            "import tariffs",
            "the budget deficit",
            "fuel subsidies",
            "corporate taxes",
            "the currency peg",
            "wage growth",
            "inflation targets",
            "public spending",
            "export quotas",
            "housing loans",
        ],
        adjuncts: &[
            "for the third time this year",
            "by a quarter of a percentage point",
            "in a surprise move",
            "ahead of the budget",
            "as prices kept rising",
            "to stabilize the economy",
            "despite pressure from lawmakers",
            "in the second quarter",
            "after a weak harvest",
            "amid fears of recession",
            "in favor of a gradual approach",
        ],
        titles: &[
            "finance minister",
            "central bank governor",
            "chief economist",
            "trade minister",
            "U.S. Treasury Secretary",
            "head of the chamber of commerce",
        ],
        orgs: &[
            "the International Monetary Fund",
            "the statistics office",
            "the World Bank",
            "the central bank",
            "the labor ministry",
            "a group of analysts polled by the wire",
        ],
    },
    Topic {
        subjects: &[
            "OPEC members",
            "the state oil company",
            "refiners",
            "the energy ministry",
            "pipeline operators",
            "utilities",
            "oil producers",
            "the grid operator",
            "coal miners",
            "the regulator",
            "shale drillers",
            "tanker owners",
        ],
        verbs: &[
            "increased",
            "reduced",
            "halted",
            "resumed",
            "expanded",
            "delayed",
            "approved",
            "suspended",
            "capped",
            "restored",
            "renegotiated",
            "analyzed",
        ],
        objects: &[
            "crude output",
            "gas exports",
            "work on the pipeline",
            "fuel prices",
            "power supplies",
            "drilling licenses",
            "the new refinery",
            "electricity tariffs",
            "coal shipments",
            "offshore exploration",
            "the storage center",
            "its investment program",
        ],
        adjuncts: &[
            "until further notice",
            "after a fire at the plant",
            "as demand slowed",
            "to ease a shortage",
            "by about 200,000 barrels a day",
            "for the winter months",
            "following a dispute over payments",
            "under a new agreement",
            "despite the sanctions",
            "at the request of the ministry",
        ],
        titles: &[
            "energy minister",
            "oil minister",
            "chief executive of the state oil company",
            "OPEC Secretary General",
            "U.S. Energy Secretary",
            "head of the regulator",
        ],
        orgs: &[
            "the International Energy Agency",
            "the oil ministry",
            "the company",
            "the U.S. Energy Information Administration",
            "the grid operator",
            "industry sources",
        ],
    },
    Topic {
        subjects: &[
            "the ruling coalition",
            "opposition lawmakers",
            "the prime minister",
            "parliament",
            "the electoral commission",
            "the president",
            "protesters",
            "the supreme court",
            "party leaders",
            "local officials",
            "the cabinet",
            "student groups",
        ],
        verbs: &[
            "rejected",
            "approved",
            "postponed",
            "challenged",
            "announced",
            "blocked",
            "endorsed",
            "called for",
            "condemned",
            "welcomed",
            "recognized",
            "criticized",
        ],
        objects: &[
            "the new constitution",
            "early elections",
            "a vote of no confidence",
            "the reform bill",
            "the election results",
            "a national unity government",
            "the emergency decree",
            "talks with the opposition",
            "the budget plan",
            "a referendum",
            "the labor reforms",
            "the new organization of the courts",
        ],
        adjuncts: &[
            "after a marathon session",
            "in a televised address",
            "by a narrow margin",
            "for the second time in a month",
            "amid street protests",
            "behind closed doors",
            "before the summer recess",
            "in a rare show of unity",
            "despite objections",
            "with the backing of the army",
        ],
        titles: &[
            "prime minister",
            "opposition leader",
            "speaker of parliament",
            "foreign minister",
            "presidential spokesman",
            "U.S. Secretary of State",
            "justice minister",
        ],
        orgs: &[
            "the presidential palace",
            "the electoral commission",
            "the U.S. State Department",
            "the opposition alliance",
            "the foreign ministry",
            "election observers",
        ],
    },
    Topic {
        subjects: &[
            "health officials",
            "the hospital",
            "doctors",
            "the health ministry",
            "the World Health Organization",
            "researchers",
            "vaccination teams",
            "nurses",
            "the clinic",
            "aid groups",
            "the disease control center",
            "volunteers",
        ],
        verbs: &[
            "reported",
            "confirmed",
            "launched",
            "expanded",
            "warned about",
            "investigated",
            "treated",
            "recognized",
            "tracked",
            "contained",
            "organized",
            "prioritized",
        ],
        objects: &[
            "new cases of cholera",
            "a vaccination campaign",
            "the outbreak",
            "a shortage of medicines",
            "dozens of patients",
            "the spread of the virus",
            "a field hospital",
            "the mobile clinics",
            "rising infection rates",
            "a screening program",
            "the contaminated wells",
            "the quarantine zone",
        ],
        adjuncts: &[
            "over the past week",
            "in the refugee camps",
            "in three provinces",
            "with help from donors",
            "as the rainy season began",
            "for the first time in a decade",
            "in the capital's poorest districts",
            "despite a lack of staff",
            "after an emergency meeting",
            "across the region",
        ],
        titles: &[
            "health minister",
            "chief medical officer",
            "hospital director",
            "WHO representative",
            "head of the aid group",
            "epidemiologist",
        ],
        orgs: &[
            "the World Health Organization",
            "the health ministry",
            "Doctors Without Borders",
            "the Red Cross",
            "the hospital",
            "the disease control center",
        ],
    },
    Topic {
        subjects: &[
            "rescue workers",
            "the storm",
            "floodwaters",
            "emergency services",
            "the weather office",
            "the fire brigade",
            "villagers",
            "the disaster agency",
            "engineers",
            "the navy",
            "aid convoys",
            "the cyclone",
        ],
        verbs: &[
            "evacuated",
            "reached",
            "destroyed",
            "damaged",
            "cleared",
            "rebuilt",
            "cut off",
            "searched",
            "flooded",
            "warned",
            "mobilized",
            "stabilized",
        ],
        objects: &[
            "thousands of residents",
            "the coastal towns",
            "dozens of homes",
            "the main bridge",
            "roads in the valley",
            "the river banks",
            "power lines",
            "the low-lying districts",
            "crops across the region",
            "the dam",
            "the neighboring islands",
            "the port",
        ],
        adjuncts: &[
            "overnight",
            "as the water kept rising",
            "after days of heavy rain",
            "with helicopters and boats",
            "before the second storm arrived",
            "in the worst floods in decades",
            "along the coast",
            "in freezing temperatures",
            "despite the damaged roads",
            "with the help of the army",
        ],
        titles: &[
            "disaster management chief",
            "regional governor",
            "meteorologist",
            "mayor",
            "civil defense spokesman",
            "U.S. Ambassador",
        ],
        orgs: &[
            "the disaster agency",
            "the weather office",
            "the Red Cross",
            "the civil defense center",
            "the governor's office",
            "the U.S. Agency for International Development",
        ],
    },
];

const FIRST: [&str; 32] = [
    "Amina", "Daniel", "Farid", "Helen", "Ivan", "Julia", "Kwame", "Lucia", "Marco", "Nadia",
    "Omar", "Priya", "Rafael", "Sofia", "Tariq", "Ursula", "Victor", "Wen", "Yusuf", "Zara",
    "Ahmed", "Brigitte", "Carlos", "Dmitri", "Elena", "Hassan", "Ingrid", "Jorge", "Kenji",
    "Leila", "Mateo", "Noor",
];

const LAST: [&str; 32] = [
    "Okafor",
    "Lindqvist",
    "Haddad",
    "Moreno",
    "Petrov",
    "Nakamura",
    "Mensah",
    "Castillo",
    "Rahimi",
    "Fischer",
    "Banerjee",
    "Kowalski",
    "Alvarez",
    "Osei",
    "Demir",
    "Novak",
    "Sato",
    "Qureshi",
    "Bianchi",
    "Mwangi",
    "Hossain",
    "Duarte",
    "Kaplan",
    "Nguyen",
    "Sorensen",
    "Abdi",
    "Varga",
    "Tanaka",
    "Ruiz",
    "Koenig",
    "Adeyemi",
    "Larsen",
];

/// (city, country)
const PLACES: [(&str, &str); 30] = [
    ("Washington", "United States"),
    ("Kabul", "Afghanistan"),
    ("Islamabad", "Pakistan"),
    ("Beirut", "Lebanon"),
    ("Nairobi", "Kenya"),
    ("Lagos", "Nigeria"),
    ("Cairo", "Egypt"),
    ("Jakarta", "Indonesia"),
    ("Manila", "the Philippines"),
    ("Lima", "Peru"),
    ("Bogota", "Colombia"),
    ("Ankara", "Turkey"),
    ("Kyiv", "Ukraine"),
    ("Tbilisi", "Georgia"),
    ("Dhaka", "Bangladesh"),
    ("Hanoi", "Vietnam"),
    ("Accra", "Ghana"),
    ("Kampala", "Uganda"),
    ("Quito", "Ecuador"),
    ("Santiago", "Chile"),
    ("Brussels", "Belgium"),
    ("Geneva", "Switzerland"),
    ("Oslo", "Norway"),
    ("Seoul", "South Korea"),
    ("Tokyo", "Japan"),
    ("New Delhi", "India"),
    ("Baghdad", "Iraq"),
    ("Amman", "Jordan"),
    ("Tunis", "Tunisia"),
    ("Addis Ababa", "Ethiopia"),
];

const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// American → British spellings (whole words, lower case).
const SPELLING: [(&str, &str); 24] = [
    ("organization", "organisation"),
    ("organized", "organised"),
    ("authorized", "authorised"),
    ("criticized", "criticised"),
    ("recognized", "recognised"),
    ("stabilize", "stabilise"),
    ("stabilized", "stabilised"),
    ("mobilized", "mobilised"),
    ("analyzed", "analysed"),
    ("prioritized", "prioritised"),
    ("emphasized", "emphasised"),
    ("labor", "labour"),
    ("favor", "favour"),
    ("defense", "defence"),
    ("center", "centre"),
    ("neighboring", "neighbouring"),
    ("skeptical", "sceptical"),
    ("honor", "honour"),
    ("program", "programme"),
    ("licenses", "licences"),
    ("apologized", "apologised"),
    ("rumors", "rumours"),
    ("endeavor", "endeavour"),
    ("theater", "theatre"),
];

/// Copy-desk word swaps.
const SWAPS: [(&str, &str); 9] = [
    ("militants", "terrorists"),
    ("rebels", "insurgents"),
    ("protesters", "demonstrators"),
    ("killed", "slain"),
    ("announced", "unveiled"),
    ("warned", "cautioned"),
    ("talks", "negotiations"),
    ("seized", "captured"),
    ("residents", "locals"),
];

const SKEPTIC: [&str; 6] = [
    "Analysts were skeptical that the plan would hold.",
    "Diplomats said they remained skeptical of the timetable.",
    "Critics said the program had been poorly organized from the start.",
    "Rumors of a deal circulated in the capital for days.",
    "The ministry apologized for the delay and said it would honor its commitments.",
    "Residents said they had not been warned in advance.",
];

const COMMENT_OPENERS: [&str; 8] = [
    "Nobody is talking about the real issue here:",
    "I have said this for years,",
    "Typical. Once again",
    "Interesting article, but",
    "Can someone explain why",
    "My family lives there and",
    "This is what happens when",
    "Finally some honest reporting:",
];

const HANDLES: [&str; 10] = [
    "quietobserver",
    "harbourwatcher",
    "tom_from_leeds",
    "realist2020",
    "maria.k",
    "oldnewsman",
    "bluefinch",
    "concerned_dad",
    "skyline77",
    "northwind",
];

// ------------------------------------------------------------------ text

/// People and places of one story.
struct Story {
    topic: &'static Topic,
    city: &'static str,
    country: &'static str,
    people: Vec<(String, &'static str)>,
    day: &'static str,
}

impl Story {
    fn new(r: &mut Rng) -> Story {
        let topic = &TOPICS[r.below(TOPICS.len())];
        let (city, country) = r.pick(&PLACES);
        let people = (0..3)
            .map(|_| {
                (
                    format!("{} {}", r.pick(&FIRST), r.pick(&LAST)),
                    r.pick(topic.titles),
                )
            })
            .collect();
        Story {
            topic,
            city,
            country,
            people,
            day: r.pick(&DAYS),
        }
    }

    fn clause(&self, r: &mut Rng) -> String {
        let t = self.topic;
        format!(
            "{} {} {}",
            r.pick(t.subjects),
            r.pick(t.verbs),
            r.pick(t.objects)
        )
    }

    fn person(&self, r: &mut Rng) -> &(String, &'static str) {
        &self.people[r.below(self.people.len())]
    }

    /// A way to name a person: full name, or "the <title>".
    fn reference(&self, r: &mut Rng) -> String {
        let (name, title) = self.person(r);
        if r.chance(0.6) {
            name.clone()
        } else {
            format!("the {title}")
        }
    }

    fn headline(&self, r: &mut Rng) -> String {
        let c = self.clause(r);
        let adj = r.pick(self.topic.adjuncts);
        capitalize(&format!("{c} {adj}"))
    }

    fn lead(&self, r: &mut Rng) -> String {
        let (name, title) = self.person(r);
        let c = capitalize(&self.clause(r));
        let adj = r.pick(self.topic.adjuncts);
        format!("{c} {adj}, {name}, the {title}, said on {}.", self.day)
    }

    fn rewritten_lead(&self, r: &mut Rng) -> String {
        let (name, _) = self.person(r);
        let c = self.clause(r);
        format!(
            "In {}, where {c}, {name} spoke to journalists about what comes next for {}.",
            self.city, self.country
        )
    }

    fn sentence(&self, r: &mut Rng) -> String {
        let t = self.topic;
        let adj = r.pick(t.adjuncts);
        match r.below(13) {
            0 => {
                let c = capitalize(&self.clause(r));
                let who = self.reference(r);
                format!("{c} {adj}, {who} said on {}.", self.day)
            }
            1 => {
                let c = capitalize(&self.clause(r));
                let who = self.reference(r);
                format!("\"{c} {adj},\" {who} said in a statement.")
            }
            2 => {
                let (name, title) = self.person(r);
                let c = self.clause(r);
                format!(
                    "{name}, the {title}, told reporters in {} that {c}.",
                    self.city
                )
            }
            3 => {
                let c = capitalize(&self.clause(r));
                format!("{c}, according to {}.", r.pick(t.orgs))
            }
            4 => {
                let who = capitalize(&self.reference(r));
                let c1 = capitalize(&self.clause(r));
                let c2 = capitalize(&self.clause(r));
                format!("{who} said: \"{c1}. {c2} {adj}.\"")
            }
            5 => format!(
                "{} did not immediately respond to a request for comment.",
                capitalize(r.pick(t.orgs))
            ),
            6 => format!("It was not clear whether {} {adj}.", self.clause(r)),
            7 => format!("Officials in {} said {} {adj}.", self.city, self.clause(r)),
            8 => format!(
                "{}, a senior official said on condition of anonymity because he was not authorized to speak to the media.",
                capitalize(&self.clause(r))
            ),
            9 => format!("The move comes after {} {adj}.", self.clause(r)),
            10 => {
                let (_, title) = self.person(r);
                let c1 = self.clause(r);
                let c2 = self.clause(r);
                format!(
                    "{}'s {title} said {c1}, adding that {c2}.",
                    capitalize(self.country)
                )
            }
            11 => r.pick(&SKEPTIC).to_string(),
            _ => format!("{} {adj}.", capitalize(&self.clause(r))),
        }
    }

    fn paragraph(&self, r: &mut Rng) -> String {
        let n = r.range(1, 3);
        let mut p = String::new();
        for k in 0..n {
            if k > 0 {
                p.push(' ');
            }
            p.push_str(&self.sentence(r));
        }
        p
    }

    /// Canonical paragraphs (American spelling, straight quotes, `U.S.`):
    /// the lead first.
    fn body(&self, r: &mut Rng, lo: usize, hi: usize) -> Vec<String> {
        let n = r.range(lo, hi);
        let mut v = vec![self.lead(r)];
        v.extend((1..n).map(|_| self.paragraph(r)));
        v
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Replace whole ASCII words by `f` (tried on the word, then on its
/// lower-cased form with the result capitalized). Returns whether anything
/// changed.
fn map_words(text: &str, f: impl Fn(&str) -> Option<&'static str>) -> (String, bool) {
    let mut out = String::with_capacity(text.len() + 16);
    let mut changed = false;
    let mut rest = text;
    while !rest.is_empty() {
        let word_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        if word_len == 0 {
            let ch_len = rest.chars().next().map_or(1, char::len_utf8);
            out.push_str(&rest[..ch_len]);
            rest = &rest[ch_len..];
            continue;
        }
        let word = &rest[..word_len];
        if let Some(w) = f(word) {
            out.push_str(w);
            changed = true;
        } else if word.starts_with(|c: char| c.is_ascii_uppercase())
            && let Some(w) = f(&word.to_ascii_lowercase())
        {
            out.push_str(&capitalize(w));
            changed = true;
        } else {
            out.push_str(word);
        }
        rest = &rest[word_len..];
    }
    (out, changed)
}

fn british(text: &str) -> (String, bool) {
    map_words(text, |w| SPELLING.iter().find(|p| p.0 == w).map(|p| p.1))
}

fn curly(text: &str) -> (String, bool) {
    let mut open = true;
    let mut changed = false;
    let out = text
        .chars()
        .map(|c| match c {
            '"' => {
                changed = true;
                open = !open;
                if open { '\u{201D}' } else { '\u{201C}' }
            }
            '\'' => {
                changed = true;
                '\u{2019}'
            }
            c => c,
        })
        .collect();
    (out, changed)
}

fn no_dots(text: &str) -> (String, bool) {
    (text.replace("U.S.", "US"), text.contains("U.S."))
}

/// Which of an outlet's style transforms changed the text.
#[derive(Default, Clone, Copy)]
struct Changed {
    spelling: bool,
    quotes: bool,
    us: bool,
}

/// Render a canonical paragraph in an outlet's style.
fn render(text: &str, o: &Outlet, changed: &mut Changed) -> String {
    let mut t = text.to_string();
    if o.british {
        let (s, c) = british(&t);
        t = s;
        changed.spelling |= c;
    }
    if !o.dots {
        let (s, c) = no_dots(&t);
        t = s;
        changed.us |= c;
    }
    if o.curly {
        let (s, c) = curly(&t);
        t = s;
        changed.quotes |= c;
    }
    t
}

fn dateline(wire: &Outlet, city: &str) -> String {
    let city = city.to_uppercase();
    match wire.name {
        "AP" => format!("{city} (AP) \u{2014} "),
        name => format!("{city} ({name}) - "),
    }
}

fn comments(r: &mut Rng, story: &Story) -> String {
    let n = r.range(1, 4);
    let mut s = format!(" ({n})");
    for _ in 0..n {
        let hours = r.range(1, 23);
        s.push_str(&format!(
            "\n{}{} \u{00B7} {hours} hours ago\n{} {}.",
            r.pick(&HANDLES),
            r.range(1, 99),
            r.pick(&COMMENT_OPENERS),
            story.clause(r)
        ));
    }
    s
}

// ------------------------------------------------------------ generator

struct Generator<'a> {
    rng: Rng,
    corpus_dir: &'a Path,
    width: usize,
    perm: Permutation,
    manifest: BufWriter<File>,
    truth: BufWriter<File>,
    clusters_path: std::path::PathBuf,
    clusters: Option<BufWriter<File>>,
    summary: GenSummary,
}

/// A document being assembled, with the byte spans of wire paragraphs.
struct Doc {
    text: String,
    /// Spans of the wire paragraphs this document carries.
    spans: Vec<(usize, usize)>,
}

impl Doc {
    fn new() -> Doc {
        Doc {
            text: String::new(),
            spans: Vec::new(),
        }
    }

    fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn push_wire(&mut self, s: &str) {
        let start = self.text.len();
        self.text.push_str(s);
        self.spans.push((start, self.text.len()));
    }

    fn covering(&self) -> [usize; 2] {
        let start = self.spans.iter().map(|s| s.0).min().unwrap_or(0);
        let end = self.spans.iter().map(|s| s.1).max().unwrap_or(0);
        [start, end]
    }
}

#[derive(Serialize)]
struct TruthPassage<'a> {
    original: &'a str,
    copy: &'a str,
    original_span: [usize; 2],
    copy_span: [usize; 2],
    edits: Vec<&'static str>,
}

#[derive(Serialize)]
struct TruthCluster<'a> {
    original: &'a str,
    docs: &'a [String],
}

/// Days since 1970-01-01 → (year, month, day) (proleptic Gregorian).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// 2024-01-01 is day 19723 since the epoch.
const FIRST_DAY: i64 = 19_723;

impl Generator<'_> {
    fn id(&self, i: usize) -> String {
        format!("{:0w$}", self.perm.apply(i), w = self.width)
    }

    fn pick_outlet(&mut self, exclude: &[&str]) -> Outlet {
        let total: usize = OUTLETS
            .iter()
            .filter(|o| !exclude.contains(&o.name))
            .map(|o| o.weight)
            .sum();
        let mut x = self.rng.below(total);
        for o in OUTLETS.iter().filter(|o| !exclude.contains(&o.name)) {
            if x < o.weight {
                return *o;
            }
            x -= o.weight;
        }
        OUTLETS[0]
    }

    fn write_doc(
        &mut self,
        id: &str,
        outlet: &Outlet,
        day: Option<i64>,
        slug: &str,
        text: &str,
    ) -> io::Result<()> {
        fs::write(self.corpus_dir.join(format!("{id}.txt")), text)?;
        let (date, url) = match day {
            Some(d) => {
                let (y, m, dd) = civil(FIRST_DAY + d);
                let url = if self.rng.chance(0.9) {
                    format!(
                        "https://www.{}/{y}/{m:02}/{dd:02}/{slug}-{id}",
                        outlet.domain
                    )
                } else {
                    String::new()
                };
                (format!("{y}-{m:02}-{dd:02}"), url)
            }
            None => (String::new(), String::new()),
        };
        writeln!(self.manifest, "{id}.txt,{},{date},{url}", outlet.name)?;
        self.summary.docs += 1;
        self.summary.bytes += text.len() as u64;
        Ok(())
    }

    /// Header, headline and (for pages) the chrome before the body.
    fn open_page(&mut self, doc: &mut Doc, outlet: &Outlet, headline: &str) {
        if let Some(c) = outlet.chrome {
            doc.push(CHROME[c].0);
        }
        doc.push(headline);
        doc.push("\n\n");
        if outlet.chrome.is_some() || self.rng.chance(0.3) {
            let byline = format!("By {} {}\n\n", self.rng.pick(&FIRST), self.rng.pick(&LAST));
            doc.push(&byline);
        }
    }

    fn close_page(&mut self, doc: &mut Doc, outlet: &Outlet, story: &Story) {
        if let Some(c) = outlet.chrome {
            doc.push(CHROME[c].1);
            let cm = comments(&mut self.rng, story);
            doc.push(&cm);
            doc.push(CHROME[c].2);
        }
    }

    fn slug(headline: &str) -> String {
        headline
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(8)
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>()
            .join("-")
    }

    /// One unrelated story.
    fn single(&mut self, i: usize) -> io::Result<()> {
        let id = self.id(i);
        let r = &mut self.rng;
        let story = Story::new(r);
        let outlet = if r.chance(0.1) {
            WIRES[r.below(WIRES.len())]
        } else {
            self.pick_outlet(&[])
        };
        let r = &mut self.rng;
        let headline = story.headline(r);
        let body = story.body(r, 5, 11);
        let day = r.below(730) as i64;
        let mut doc = Doc::new();
        self.open_page(&mut doc, &outlet, &headline);
        let mut ch = Changed::default();
        for (k, p) in body.iter().enumerate() {
            if k == 0 && WIRES.iter().any(|w| w.name == outlet.name) {
                doc.push(&dateline(&outlet, story.city));
            } else if k == 0 && self.rng.chance(0.4) {
                doc.push(&format!("{} \u{2014} ", story.city.to_uppercase()));
            }
            doc.push(&render(p, &outlet, &mut ch));
            doc.push("\n\n");
        }
        self.close_page(&mut doc, &outlet, &story);
        let slug = Self::slug(&headline);
        self.write_doc(&id, &outlet, Some(day), &slug, &doc.text)
    }

    /// A wire story and `copies` reprints of it.
    fn wire_group(&mut self, first: usize, copies: usize) -> io::Result<()> {
        let r = &mut self.rng;
        let wire = WIRES[r.below(WIRES.len())];
        let story = Story::new(r);
        let headline = story.headline(r);
        let body = story.body(r, 7, 12);
        let day = r.below(730) as i64;
        let wire_id = self.id(first);

        // The wire story itself.
        let mut w = Doc::new();
        w.push(&headline);
        w.push("\n\n");
        let mut wch = Changed::default();
        let line = dateline(&wire, story.city);
        for (k, p) in body.iter().enumerate() {
            let mut para = render(p, &wire, &mut wch);
            if k == 0 {
                para = format!("{line}{para}");
            }
            w.push_wire(&para);
            w.push("\n\n");
        }
        if wire.name == "Reuters" {
            let credit = format!(
                "(Reporting by {} {}; Editing by {} {})\n",
                self.rng.pick(&FIRST),
                self.rng.pick(&LAST),
                self.rng.pick(&FIRST),
                self.rng.pick(&LAST)
            );
            w.push(&credit);
        }
        let slug = Self::slug(&headline);
        self.write_doc(&wire_id, &wire, Some(day), &slug, &w.text)?;

        let mut members = vec![wire_id.clone()];
        let mut used: Vec<&'static str> = Vec::new();
        for c in 0..copies {
            let outlet = self.pick_outlet(&used);
            used.push(outlet.name);
            let copy_id = self.id(first + 1 + c);
            let (text, spans_used, edits) = self.reprint(&story, &wire, &outlet, &headline, &body);
            let original_span = {
                let start = spans_used.iter().map(|&k| w.spans[k].0).min().unwrap_or(0);
                let end = spans_used.iter().map(|&k| w.spans[k].1).max().unwrap_or(0);
                [start, end]
            };
            let copy_day = if self.rng.chance(0.15) {
                None
            } else {
                Some(day + self.rng.range(1, 3) as i64)
            };
            let slug = Self::slug(&headline);
            self.write_doc(&copy_id, &outlet, copy_day, &slug, &text.text)?;
            let entry = TruthPassage {
                original: &wire_id,
                copy: &copy_id,
                original_span,
                copy_span: text.covering(),
                edits,
            };
            let sep = if self.summary.passages == 0 { "" } else { "," };
            write!(self.truth, "{sep}\n    {}", serde_json::to_string(&entry)?)?;
            self.summary.passages += 1;
            members.push(copy_id);
        }
        members.sort();
        let entry = TruthCluster {
            original: &wire_id,
            docs: &members,
        };
        let sep = if self.summary.clusters == 0 { "" } else { "," };
        if let Some(out) = self.clusters.as_mut() {
            write!(out, "{sep}\n    {}", serde_json::to_string(&entry)?)?;
        }
        self.summary.clusters += 1;
        Ok(())
    }

    /// A reprint of `body` by `outlet`: the document, the wire paragraphs
    /// it carries (in wire order of their indices) and the edits made.
    fn reprint(
        &mut self,
        story: &Story,
        wire: &Outlet,
        outlet: &Outlet,
        headline: &str,
        body: &[String],
    ) -> (Doc, Vec<usize>, Vec<&'static str>) {
        let r = &mut self.rng;
        let mut edits: Vec<&'static str> = Vec::new();
        let n = body.len();
        let mut order: Vec<usize> = (0..n).collect();
        // Cuts: drop a middle paragraph or two, and maybe the tail.
        if r.chance(0.5) {
            for _ in 0..r.range(1, 2) {
                if order.len() > 4 {
                    let k = r.range(1, order.len() - 1);
                    order.remove(k);
                }
            }
            if r.chance(0.4) && order.len() > 5 {
                let keep = r.range(4, order.len() - 1);
                order.truncate(keep);
            }
            edits.push("cut");
        }
        let lead = r.chance(0.3);
        if lead {
            edits.push("lead");
        }
        if r.chance(0.25) && order.len() > 3 {
            let k = r.range(1, order.len() - 2);
            order.swap(k, k + 1);
            edits.push("reorder");
        }
        let swap = r.chance(0.4);
        let swaps: Vec<bool> = SWAPS.iter().map(|_| r.chance(0.6)).collect();
        let credit = r.chance(0.5);
        let keep_dateline = credit && r.chance(0.5);
        let credit_line = credit && !keep_dateline && r.chance(0.5);
        let new_headline = if r.chance(0.5) {
            story.headline(r)
        } else {
            headline.to_string()
        };

        let mut doc = Doc::new();
        self.open_page(&mut doc, outlet, &new_headline);
        let mut ch = Changed::default();
        let mut swapped = false;
        let mut carried = Vec::new();
        for (pos, &k) in order.iter().enumerate() {
            let rewritten = pos == 0 && lead;
            let mut para = if rewritten {
                render(
                    &story.rewritten_lead(&mut self.rng),
                    outlet,
                    &mut Changed::default(),
                )
            } else {
                render(&body[k], outlet, &mut ch)
            };
            if swap && !rewritten {
                let (s, c) = map_words(&para, |w| {
                    SWAPS
                        .iter()
                        .zip(&swaps)
                        .find(|(p, on)| **on && p.0 == w)
                        .map(|(p, _)| p.1)
                });
                para = s;
                swapped |= c;
            }
            if pos == 0 {
                if keep_dateline {
                    para = format!("{}{para}", dateline(wire, story.city));
                } else if credit && !credit_line {
                    if let Some(stripped) = para.strip_suffix('.') {
                        para = format!("{stripped}, {} reported.", wire.name);
                    }
                } else if self.rng.chance(0.5) {
                    para = format!("{} \u{2014} {para}", story.city.to_uppercase());
                }
            }
            if rewritten {
                doc.push(&para);
                doc.push("\n\n");
                continue;
            }
            doc.push_wire(&para);
            doc.push("\n\n");
            carried.push(k);
        }
        if credit_line {
            doc.push(&format!("{} contributed to this report.\n", wire.name));
        }
        self.close_page(&mut doc, outlet, story);

        let wire_style = {
            let mut c = Changed::default();
            for &k in &carried {
                render(&body[k], wire, &mut c);
            }
            c
        };
        if outlet.british != wire.british && (ch.spelling || wire_style.spelling) {
            edits.push("spelling");
        }
        if outlet.curly != wire.curly && (ch.quotes || wire_style.quotes) {
            edits.push("quotes");
        }
        if outlet.dots != wire.dots && (ch.us || wire_style.us) {
            edits.push("us");
        }
        if swapped {
            edits.push("swap");
        }
        if (!keep_dateline && carried.first() == Some(&0)) || lead {
            edits.push("dateline");
        }
        if credit {
            edits.push("credit");
        }
        if outlet.chrome.is_some() {
            edits.push("page");
        }
        (doc, carried, edits)
    }

    fn finish(mut self) -> io::Result<GenSummary> {
        if let Some(mut c) = self.clusters.take() {
            c.flush()?;
        }
        write!(self.truth, "\n  ],\n  \"clusters\": [")?;
        let mut tmp = File::open(&self.clusters_path)?;
        io::copy(&mut tmp, &mut self.truth)?;
        drop(tmp);
        fs::remove_file(&self.clusters_path)?;
        write!(self.truth, "\n  ]\n}}\n")?;
        self.truth.flush()?;
        self.manifest.flush()?;
        Ok(self.summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_bijection() {
        for n in [0, 1, 2, 3, 10, 97, 300, 1000] {
            let p = Permutation::new(n);
            let mut seen: Vec<usize> = (0..n).map(|i| p.apply(i)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(FIRST_DAY), (2024, 1, 1));
        assert_eq!(civil(FIRST_DAY + 59), (2024, 2, 29));
    }

    #[test]
    fn styles() {
        assert_eq!(
            british("The Organization's center").0,
            "The Organisation's centre"
        );
        assert_eq!(curly("\"Yes,\" he's").0, "\u{201C}Yes,\u{201D} he\u{2019}s");
        assert_eq!(no_dots("the U.S. envoy").0, "the US envoy");
    }
}
