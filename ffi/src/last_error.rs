//! The calling thread's last failure: set by every recording entry point, read by the
//! `tk_last_error_*` accessors (`error.rs`).

use std::cell::RefCell;

use crate::failure::Failure;

thread_local! {
    static LAST: RefCell<Option<Failure>> = const { RefCell::new(None) };
}

/// Called at the start of every recording entry point: the details always belong to the most
/// recent call of the thread.
pub(crate) fn clear() {
    let _ = LAST.try_with(|l| l.borrow_mut().take());
}

pub(crate) fn set(f: Failure) {
    let _ = LAST.try_with(|l| *l.borrow_mut() = Some(f));
}

pub(crate) fn with_last<R>(f: impl FnOnce(Option<&Failure>) -> R) -> R {
    // A thread being torn down has no error to report.
    match LAST.try_with(|l| l.borrow().clone()) {
        Ok(last) => f(last.as_ref()),
        Err(_) => f(None),
    }
}
