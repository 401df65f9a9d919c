//! Stable numeric keys for cases in the vector store.

use leian_ingest::CaseId;

/// A stable 64-bit key for a case id (FNV-1a of its UTF-8 bytes).
///
/// The vector store addresses cases by `u64`; deriving the key from the id needs no
/// extra mapping file and survives rebuilds. Collisions are detected on insert
/// (`Engine` keeps key → id) rather than assumed away.
pub fn doc_key(id: &CaseId) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_str().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_values() {
        // FNV-1a 64 reference values: "" and "a"
        assert_eq!(doc_key(&CaseId::new("")), 0xcbf29ce484222325);
        assert_eq!(doc_key(&CaseId::new("a")), 0xaf63dc4c8601ec8c);
        assert_ne!(
            doc_key(&CaseId::new("lecard:1")),
            doc_key(&CaseId::new("lecard:2"))
        );
    }
}
