//! docker's random container names, `adjective_surname` ("focused_turing"),
//! from the word lists of moby's `pkg/namesgenerator/names-generator.go`
//! (its adjectives and its notable scientists and hackers), with its rules:
//! never `boring_wozniak` ("Steve Wozniak is not boring"), a digit appended
//! on retries, and the short id once six names were taken.

// `run`/`create` (the containers work) call this; until they land it is
// reached only from its tests.

use std::io::Read;

/// How many random names docker tries before it names a container after its
/// short id (daemon/names.go `generateNewName`).
pub(crate) const ATTEMPTS: u32 = 6;

const LEFT: &[&str] = &[
    "admiring",
    "adoring",
    "affectionate",
    "agitated",
    "amazing",
    "angry",
    "awesome",
    "blissful",
    "boring",
    "brave",
    "clever",
    "cocky",
    "compassionate",
    "competent",
    "condescending",
    "confident",
    "cranky",
    "dazzling",
    "determined",
    "distracted",
    "dreamy",
    "eager",
    "ecstatic",
    "elastic",
    "elated",
    "elegant",
    "eloquent",
    "epic",
    "fervent",
    "festive",
    "flamboyant",
    "focused",
    "friendly",
    "frosty",
    "gallant",
    "gifted",
    "goofy",
    "gracious",
    "happy",
    "hardcore",
    "heuristic",
    "hopeful",
    "hungry",
    "infallible",
    "inspiring",
    "jolly",
    "jovial",
    "keen",
    "kind",
    "laughing",
    "loving",
    "lucid",
    "mystifying",
    "modest",
    "musing",
    "naughty",
    "nervous",
    "nifty",
    "nostalgic",
    "objective",
    "optimistic",
    "peaceful",
    "pedantic",
    "pensive",
    "practical",
    "priceless",
    "quirky",
    "quizzical",
    "relaxed",
    "reverent",
    "romantic",
    "sad",
    "serene",
    "sharp",
    "silly",
    "sleepy",
    "stoic",
    "stupefied",
    "suspicious",
    "tender",
    "thirsty",
    "trusting",
    "unruffled",
    "upbeat",
    "vibrant",
    "vigilant",
    "vigorous",
    "wizardly",
    "wonderful",
    "xenodochial",
    "youthful",
    "zealous",
    "zen",
];

const RIGHT: &[&str] = &[
    "albattani",
    "allen",
    "almeida",
    "agnesi",
    "archimedes",
    "ardinghelli",
    "aryabhata",
    "austin",
    "babbage",
    "banach",
    "bardeen",
    "bartik",
    "bassi",
    "beaver",
    "bell",
    "benz",
    "bhabha",
    "bhaskara",
    "blackwell",
    "bohr",
    "booth",
    "borg",
    "bose",
    "boyd",
    "brahmagupta",
    "brattain",
    "brown",
    "carson",
    "chandrasekhar",
    "shannon",
    "clarke",
    "colden",
    "cori",
    "cray",
    "curran",
    "curie",
    "darwin",
    "davinci",
    "dijkstra",
    "dubinsky",
    "easley",
    "edison",
    "einstein",
    "elion",
    "engelbart",
    "euclid",
    "euler",
    "fermat",
    "fermi",
    "feynman",
    "franklin",
    "galileo",
    "gates",
    "goldberg",
    "goldstine",
    "goldwasser",
    "golick",
    "goodall",
    "haibt",
    "hamilton",
    "hawking",
    "heisenberg",
    "hermann",
    "heyrovsky",
    "hodgkin",
    "hoover",
    "hopper",
    "hugle",
    "hypatia",
    "jackson",
    "jang",
    "jennings",
    "jepsen",
    "johnson",
    "joliot",
    "jones",
    "kalam",
    "kare",
    "keller",
    "kepler",
    "khorana",
    "kilby",
    "kirch",
    "knuth",
    "kowalevski",
    "lalande",
    "lamarr",
    "lamport",
    "leakey",
    "leavitt",
    "lewin",
    "lichterman",
    "liskov",
    "lovelace",
    "lumiere",
    "mahavira",
    "mayer",
    "mccarthy",
    "mcclintock",
    "mclean",
    "mcnulty",
    "meitner",
    "meninsky",
    "mestorf",
    "minsky",
    "mirzakhani",
    "morse",
    "murdock",
    "neumann",
    "newton",
    "nightingale",
    "nobel",
    "noether",
    "northcutt",
    "noyce",
    "panini",
    "pare",
    "pasteur",
    "payne",
    "perlman",
    "pike",
    "poincare",
    "poitras",
    "ptolemy",
    "raman",
    "ramanujan",
    "ride",
    "montalcini",
    "ritchie",
    "roentgen",
    "rosalind",
    "saha",
    "sammet",
    "shaw",
    "shirley",
    "shockley",
    "sinoussi",
    "snyder",
    "spence",
    "stallman",
    "stonebraker",
    "swanson",
    "swartz",
    "swirles",
    "tesla",
    "thompson",
    "torvalds",
    "turing",
    "varahamihira",
    "visvesvaraya",
    "volhard",
    "wescoff",
    "wiles",
    "williams",
    "wilson",
    "wing",
    "wozniak",
    "wright",
    "yalow",
    "yonath",
];

/// One name as moby's `GetRandomName(retry)`: from retry 1 on, a random
/// digit is appended ("focused_turing3").
pub(crate) fn random_name(retry: u32) -> std::io::Result<String> {
    loop {
        let r = random_u64()?;
        let left = LEFT[(r % LEFT.len() as u64) as usize];
        let right = RIGHT[((r >> 16) % RIGHT.len() as u64) as usize];
        if left == "boring" && right == "wozniak" {
            continue;
        }
        let mut name = format!("{left}_{right}");
        if retry > 0 {
            name.push_str(&((r >> 40) % 10).to_string());
        }
        return Ok(name);
    }
}

/// The names docker would try for a new container, in order: six random
/// ones (retries 0 to 5), then the 12-character short id. The caller takes
/// the first one free, checked in the same transaction that records it.
pub(crate) fn candidates(id: &str) -> std::io::Result<Vec<String>> {
    let mut names = (0..ATTEMPTS).map(random_name).collect::<std::io::Result<Vec<_>>>()?;
    names.push(id.chars().take(12).collect());
    Ok(names)
}

fn random_u64() -> std::io::Result<u64> {
    let mut buf = [0u8; 8];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(u64::from_le_bytes(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_adjective_underscore_surname() {
        for _ in 0..200 {
            let name = random_name(0).unwrap();
            let (l, r) = name.split_once('_').unwrap();
            assert!(LEFT.contains(&l) && RIGHT.contains(&r), "{name}");
            assert_ne!(name, "boring_wozniak");
        }
    }

    #[test]
    fn retries_append_a_digit() {
        let name = random_name(2).unwrap();
        assert!(name.chars().last().unwrap().is_ascii_digit(), "{name}");
        let (_, r) = name.split_once('_').unwrap();
        assert!(RIGHT.contains(&&r[..r.len() - 1]), "{name}");
    }

    #[test]
    fn candidates_end_with_the_short_id() {
        let c = candidates("4c01db0b339c2f1d7c4c1a2e5d1f0b3a").unwrap();
        assert_eq!(c.len(), 7);
        assert_eq!(c[6], "4c01db0b339c");
        assert!(!c[0].chars().last().unwrap().is_ascii_digit());
    }

    #[test]
    fn lists_are_valid_container_names() {
        // docker's name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]*
        for w in LEFT.iter().chain(RIGHT) {
            assert!(w.bytes().all(|b| b.is_ascii_lowercase()), "{w}");
        }
        assert_eq!(LEFT.len(), 93);
        assert_eq!(RIGHT.len(), 160);
    }
}
