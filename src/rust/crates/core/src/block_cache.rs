//! A cache of large freed blocks in front of the system allocator, active while the
//! core computes.
//!
//! The passes allocate their activations and signals as fresh vectors, layer by
//! layer and chunk by chunk. Blocks above glibc's mmap threshold (at most 32 MiB)
//! are mapped for every allocation and unmapped at every free, so the next block of
//! the same size pays a page fault and a kernel page clear for each 4 KiB of it:
//! IntegratedGradient on the Fashion-MNIST CNN spent three quarters of its CPU time
//! in the kernel that way. While a [`BlockCache::scope`] is open (the package's
//! every call into the core), freed blocks of at least [`MIN_BLOCK`] bytes are
//! kept, up to [`MAX_CACHED`] bytes, and handed out again for requests of the same
//! size class (eight classes per octave, so at most 12.5 % of a block is slack).
//! When the outermost scope closes, the cache is given back, so nothing is held
//! between calls. Smaller requests go to the system allocator untouched.
//!
//! The package's shared library installs it as its global allocator; it only sees
//! the Rust side's allocations, never R's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Requests from this size on are rounded to a size class and cached when freed.
pub const MIN_BLOCK: usize = 1 << 20;
/// At most this many bytes of freed blocks are kept.
pub const MAX_CACHED: usize = 1 << 30;
/// At most this many blocks are kept (a fixed array: the allocator must not allocate).
const SLOTS: usize = 64;

/// A freed block: address, class size, alignment.
#[derive(Clone, Copy)]
struct Block {
    ptr: usize,
    size: usize,
    align: usize,
}

struct Slots {
    blocks: [Block; SLOTS],
    n: usize,
    bytes: usize,
}

/// The caching allocator (see the module notes).
pub struct BlockCache {
    slots: Mutex<Slots>,
    /// Open scopes; blocks are kept only while one is open.
    open: AtomicUsize,
}

impl BlockCache {
    pub const fn new() -> BlockCache {
        BlockCache {
            slots: Mutex::new(Slots { blocks: [Block { ptr: 0, size: 0, align: 0 }; SLOTS], n: 0, bytes: 0 }),
            open: AtomicUsize::new(0),
        }
    }

    /// Run `f` with the cache active; when the outermost scope ends, the cached
    /// blocks go back to the system.
    pub fn scope<T>(&self, f: impl FnOnce() -> T) -> T {
        struct Close<'a>(&'a BlockCache);
        impl Drop for Close<'_> {
            fn drop(&mut self) {
                if self.0.open.fetch_sub(1, Ordering::SeqCst) == 1 {
                    self.0.flush();
                }
            }
        }
        self.open.fetch_add(1, Ordering::SeqCst);
        let _close = Close(self);
        f()
    }

    /// Bytes held in the cache now.
    pub fn cached_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Give every cached block back to the system allocator.
    pub fn flush(&self) {
        let mut s = self.lock();
        for b in &s.blocks[..s.n] {
            // SAFETY: each cached block was allocated by System with this layout.
            unsafe { System.dealloc(b.ptr as *mut u8, Layout::from_size_align_unchecked(b.size, b.align)) };
        }
        s.n = 0;
        s.bytes = 0;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        // a panic while the lock is held cannot leave the slots inconsistent
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A cached block of exactly this class and alignment, if any.
    fn take(&self, size: usize, align: usize) -> Option<*mut u8> {
        let mut s = self.lock();
        let n = s.n;
        let i = s.blocks[..n].iter().position(|b| b.size == size && b.align == align)?;
        let b = s.blocks[i];
        s.blocks[i] = s.blocks[n - 1];
        s.n -= 1;
        s.bytes -= size;
        Some(b.ptr as *mut u8)
    }

    /// Keep a freed block if a scope is open and there is room; `false` when the
    /// caller must free it.
    fn keep(&self, ptr: *mut u8, size: usize, align: usize) -> bool {
        if self.open.load(Ordering::SeqCst) == 0 {
            return false;
        }
        let mut s = self.lock();
        if s.n == SLOTS || s.bytes + size > MAX_CACHED {
            return false;
        }
        let n = s.n;
        s.blocks[n] = Block { ptr: ptr as usize, size, align };
        s.n += 1;
        s.bytes += size;
        true
    }
}

impl Default for BlockCache {
    fn default() -> Self {
        BlockCache::new()
    }
}

/// The size class of a large request: rounded up to an eighth of its octave.
pub fn size_class(size: usize) -> usize {
    let octave = usize::BITS - 1 - size.leading_zeros();
    let step = 1usize << octave.saturating_sub(3);
    size.div_ceil(step) * step
}

// SAFETY: every block handed out is either from System with the caller's layout
// (small requests) or from System (fresh or cached) with the request's class size,
// which `dealloc` and `realloc` recompute from the caller's layout.
unsafe impl GlobalAlloc for BlockCache {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() < MIN_BLOCK {
            return System.alloc(layout);
        }
        let size = size_class(layout.size());
        if let Some(p) = self.take(size, layout.align()) {
            return p;
        }
        System.alloc(Layout::from_size_align_unchecked(size, layout.align()))
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() < MIN_BLOCK {
            return System.alloc_zeroed(layout);
        }
        let size = size_class(layout.size());
        if let Some(p) = self.take(size, layout.align()) {
            // clearing in place still beats a fault and a kernel clear per page
            std::ptr::write_bytes(p, 0, layout.size());
            return p;
        }
        System.alloc_zeroed(Layout::from_size_align_unchecked(size, layout.align()))
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() < MIN_BLOCK {
            return System.dealloc(ptr, layout);
        }
        let size = size_class(layout.size());
        if !self.keep(ptr, size, layout.align()) {
            System.dealloc(ptr, Layout::from_size_align_unchecked(size, layout.align()));
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (old, align) = (layout.size(), layout.align());
        if old < MIN_BLOCK && new_size < MIN_BLOCK {
            return System.realloc(ptr, layout, new_size);
        }
        if old >= MIN_BLOCK && new_size >= MIN_BLOCK && size_class(old) == size_class(new_size) {
            return ptr;
        }
        let new = self.alloc(Layout::from_size_align_unchecked(new_size, align));
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, old.min(new_size));
            self.dealloc(ptr, layout);
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_round_up_by_at_most_an_eighth_and_are_stable() {
        for size in [MIN_BLOCK, MIN_BLOCK + 1, 3 << 20, (51 << 20) + 12345, (1 << 30) - 1, 1 << 30] {
            let c = size_class(size);
            assert!(c >= size && c - size <= size / 8 + 1, "{size} -> {c}");
            assert_eq!(size_class(c), c);
        }
    }

    #[test]
    fn freed_blocks_are_reused_cleared_and_given_back_when_the_scope_ends() {
        let cache = BlockCache::new();
        let layout = Layout::from_size_align(5 << 20, 64).unwrap();
        unsafe {
            // outside a scope nothing is kept
            let a = cache.alloc(layout);
            cache.dealloc(a, layout);
            assert_eq!(cache.cached_bytes(), 0);
            cache.scope(|| {
                let a = cache.alloc(layout);
                assert!(!a.is_null());
                a.write_bytes(7, layout.size());
                cache.dealloc(a, layout);
                assert_eq!(cache.cached_bytes(), size_class(5 << 20));
                // same class: the same block, cleared when asked for zeroed memory
                let b = cache.alloc_zeroed(Layout::from_size_align((5 << 20) - 100, 64).unwrap());
                assert_eq!(b, a);
                assert!(std::slice::from_raw_parts(b, (5 << 20) - 100).iter().all(|&x| x == 0));
                assert_eq!(cache.cached_bytes(), 0);
                // growing within the class keeps the block; beyond it copies
                let c = cache.realloc(b, Layout::from_size_align((5 << 20) - 100, 64).unwrap(), 5 << 20);
                assert_eq!(c, b);
                c.write_bytes(3, 16);
                let d = cache.realloc(c, layout, 9 << 20);
                assert_eq!(std::slice::from_raw_parts(d, 16), &[3u8; 16]);
                cache.dealloc(d, Layout::from_size_align(9 << 20, 64).unwrap());
                // small requests bypass the cache; nested scopes keep it
                let s = cache.alloc(Layout::from_size_align(4096, 8).unwrap());
                cache.dealloc(s, Layout::from_size_align(4096, 8).unwrap());
                cache.scope(|| ());
                assert!(cache.cached_bytes() > 0);
            });
        }
        assert_eq!(cache.cached_bytes(), 0);
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = BlockCache::new();
        let layout = Layout::from_size_align(300 << 20, 8).unwrap();
        cache.scope(|| unsafe {
            let blocks: Vec<*mut u8> = (0..5).map(|_| cache.alloc(layout)).collect();
            for &b in &blocks {
                cache.dealloc(b, layout);
            }
            assert!(cache.cached_bytes() <= MAX_CACHED);
            assert_eq!(cache.cached_bytes(), 3 * size_class(300 << 20));
        });
        assert_eq!(cache.cached_bytes(), 0);
    }
}
