//! Caps glibc malloc's arenas at the number of cores (glibc's default allows 8 per core).
//!
//! A long-running `leian serve` does its work on worker threads that come and go; with
//! many arenas each keeps its own free memory and the server's RSS keeps creeping. Measured
//! with `benches/soak.sh index/floor` (8 clients mixing search, report, check and push):
//! with glibc's default the RSS went 135 → 160 MiB over the first 10 minutes (48,917
//! requests) and on to 167 at 20; with the arenas capped at 2 it stayed at 102–108 MiB
//! (BENCHMARKS.md, "Soak"). `MALLOC_ARENA_MAX` in the environment still wins.

/// Sets `M_ARENA_MAX` to the number of cores (at least 2), unless `MALLOC_ARENA_MAX` is
/// set. Call first thing in `main`, before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub(crate) fn cap() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let arenas = i32::try_from(cores).unwrap_or(i32::MAX).max(2);
    // SAFETY: mallopt only changes a tuning parameter of glibc's allocator (how many
    // arenas it may create from now on); it takes no pointers and touches no Rust data.
    // It is called before any other thread exists, so no allocation races with it.
    let ok = unsafe { libc::mallopt(libc::M_ARENA_MAX, arenas) };
    if ok != 1 {
        tracing::debug!("mallopt(M_ARENA_MAX, {arenas}) refused");
    }
}

/// Other allocators and platforms: nothing to do.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn cap() {}
