//! The allocator of the `planetgym` binary and the Python extension: mimalloc, told to keep
//! freed memory for reuse instead of returning it to the kernel.
//!
//! An update allocates and frees tensors of tens of MB every minibatch. With glibc, and with
//! mimalloc's default purge delay (1 s), the kernel zeroed fresh pages for most of them: 17 %
//! of traffic's training CPU was `clear_page_erms`. Never purging keeps the process at the
//! peak it reaches anyway in the first update.
//!
//! The one module allowed `unsafe`: two calls into mimalloc's C API, which takes plain
//! integers (the `mimalloc` crate does not wrap its options).
#![allow(unsafe_code)]

use std::ffi::{c_int, c_long};

pub use mimalloc::MiMalloc as Allocator;

/// `mi_option_purge_delay` in `mi_option_t` (mimalloc v3, as libmimalloc-sys 0.1.49 builds it;
/// a test checks it against the option's documented default).
const PURGE_DELAY: c_int = 15;

unsafe extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
    fn mi_option_get(option: c_int) -> c_long;
}

/// Keeps freed memory in the process (purge delay -1), unless `MIMALLOC_PURGE_DELAY` says
/// otherwise.
pub fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: setting an option is thread-safe in mimalloc and takes plain integers.
        unsafe { mi_option_set(PURGE_DELAY, -1) };
    }
}

/// The purge delay in force (ms; -1 = never).
pub fn purge_delay() -> c_long {
    // SAFETY: reads an option; plain integers.
    unsafe { mi_option_get(PURGE_DELAY) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_option_is_the_purge_delay() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // mimalloc v3's documented default purge delay: 1000 ms (no other option has it).
        assert_eq!(super::purge_delay(), 1000);
        super::keep_freed_memory();
        assert_eq!(super::purge_delay(), -1);
    }
}
