//! The package's rayon pools, one per requested thread count, built once. All core
//! work runs inside `install`, so closures on the pool never touch R.

use innsight_core::{Error, Result};
use rayon::ThreadPool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

static POOLS: OnceLock<Mutex<HashMap<usize, Arc<ThreadPool>>>> = OnceLock::new();

/// Run `f` on a pool of `n` threads (`n <= 0`: all cores).
pub fn with_threads<T: Send>(n: i32, f: impl FnOnce() -> T + Send) -> Result<T> {
    let n = if n <= 0 { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) } else { n as usize };
    let pool = {
        let mut pools = POOLS.get_or_init(|| Mutex::new(HashMap::new())).lock().map_err(|_| Error::Internal("thread pool lock poisoned".into()))?;
        match pools.get(&n) {
            Some(p) => p.clone(),
            None => {
                let p = Arc::new(
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(n)
                        .build()
                        .map_err(|e| Error::Internal(format!("cannot start {n} threads: {e}")))?,
                );
                pools.insert(n, p.clone());
                p
            }
        }
    };
    // the cache of large blocks lives for this call only
    Ok(crate::ALLOCATOR.scope(|| pool.install(f)))
}
