//! CPU and memory hints for the graph walk: the one module of this crate that uses `unsafe`.
//!
//! A graph walk reads rows scattered over hundreds of megabytes, so almost every distance
//! starts with a cache miss and a TLB miss, and on these (virtualised) machines a TLB miss
//! costs as much as the distance itself. Two hints, the same ones hnswlib gets from its
//! prefetches and numpy's allocator, fix most of that:
//! - [`prefetch_row`] asks for the rows of a node's neighbours before the first distance, so
//!   their misses overlap instead of queueing;
//! - [`advise_huge_pages`] asks Linux to back the row block with 2 MiB pages, so one TLB
//!   entry covers ~1,300 rows of 384 floats instead of 2.6.
//!
//! Neither changes what any computation returns.

use std::mem::MaybeUninit;

/// Cache lines of a row to ask for (the hardware prefetcher streams the rest of the row).
const PREFETCH_LINES: usize = 4;
const LINE_BYTES: usize = 64;

/// Hints the CPU to start loading the first cache lines of `row`.
#[inline(always)]
pub(crate) fn prefetch_row(row: &[f32]) {
    prefetch(row, PREFETCH_LINES);
}

/// Hints the CPU to start loading the first `lines` cache lines of `data`.
#[inline(always)]
pub(crate) fn prefetch<T>(data: &[T], lines: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let start = data.as_ptr() as usize;
        let end = start + std::mem::size_of_val(data);
        let mut at = start;
        for _ in 0..lines {
            if at >= end {
                break;
            }
            prefetch_line(at as *const i8);
            at = (at / LINE_BYTES + 1) * LINE_BYTES;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, lines);
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
fn prefetch_line(addr: *const i8) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    // SAFETY: `_mm_prefetch` is only a hint: it reads nothing into the program and never
    // faults (even on an invalid address), and SSE, its target feature, is part of the x86_64
    // baseline that every Rust x86_64 target enables. `prefetch` only passes addresses
    // inside a live slice anyway.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(addr) }
}

/// Allocations smaller than this are not worth a system call.
const HUGE_PAGE_MIN_BYTES: usize = 4 << 20;

/// Asks the kernel to back the whole pages inside `buf` with transparent huge pages
/// (`madvise(MADV_HUGEPAGE)`); best effort, ignored where unsupported. Call it on fresh
/// spare capacity before writing, so the pages are huge from their first touch.
fn advise_huge_pages<T>(buf: &[MaybeUninit<T>]) {
    let bytes = std::mem::size_of_val(buf);
    if bytes < HUGE_PAGE_MIN_BYTES {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = buf.as_ptr() as usize;
        let first = start.next_multiple_of(PAGE);
        let end = (start + bytes) / PAGE * PAGE;
        if end > first {
            madvise_huge(first, end - first);
        }
    }
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn madvise_huge(addr: usize, len: usize) {
    // SAFETY: [addr, addr + len) is a page-aligned range inside one live allocation of the
    // caller (`advise_huge_pages` rounds inwards). MADV_HUGEPAGE only changes how the kernel
    // backs those pages, never their contents or mapping, so no Rust reference is affected.
    let rc = unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
    if rc != 0 {
        tracing::debug!(len, "madvise(MADV_HUGEPAGE) refused; using normal pages");
    }
}

/// Makes room for `additional` more elements in `v`, moving it to a fresh allocation that
/// asks for huge pages when it has to grow (a plain `reserve` would reallocate without the
/// advice).
pub(crate) fn reserve_huge<T>(v: &mut Vec<T>, additional: usize) {
    let need = v.len().saturating_add(additional);
    if need <= v.capacity() {
        return;
    }
    let cap = need.max(v.capacity().saturating_mul(2)).max(1024);
    let mut fresh: Vec<T> = Vec::with_capacity(cap);
    advise_huge_pages(fresh.spare_capacity_mut());
    fresh.append(v);
    *v = fresh;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_huge_keeps_contents_and_grows_geometrically() {
        let mut v: Vec<f32> = (0..10).map(|i| i as f32).collect();
        reserve_huge(&mut v, 5_000_000);
        assert!(v.capacity() >= 5_000_010);
        assert_eq!(v, (0..10).map(|i| i as f32).collect::<Vec<_>>());
        let cap = v.capacity();
        reserve_huge(&mut v, 10);
        assert_eq!(v.capacity(), cap, "no move when there is room");
        v.resize(cap, 1.0);
        reserve_huge(&mut v, 1);
        assert!(v.capacity() >= 2 * cap);
        assert_eq!(v[3], 3.0);
        prefetch_row(&v[..384]);
    }
}
