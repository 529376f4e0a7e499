//! A client used before `fork()` keeps working in the child: fresh runtime, cache and
//! connection pool, no inherited lock, no hang.
#![cfg(unix)]

mod common;

use std::time::{Duration, Instant};

use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_forked_child_gets_tokens_with_the_parents_client() {
    let i = issuer().await;
    let c = client(&i);
    let parent_token = c.get_token(&api()).await.unwrap();
    let prepared = c.prepared(api()).unwrap();
    assert!(prepared.get_token().await.unwrap().ptr_eq(&parent_token));
    assert!(prepared.hit().unwrap().ptr_eq(&parent_token));
    // Keep a fetch in flight in the parent while forking, the worst case for inherited state.
    i.inject(Fault::delay(500));
    let pending = {
        let c = c.clone();
        tokio::spawn(async move { c.get_token(&api().scope("read:things")).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;

    // SAFETY: the child only uses the blocking facade and then _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        unsafe { libc::alarm(60) }; // a stuck child never outlives the run
        let ok = c
            .get_token_blocking(&api().scope("read:things"))
            .map(|t| !t.access_token().is_empty())
            .unwrap_or(false)
            && c.get_token_blocking(&api()).is_ok()
            // A prepared request never serves the parent's cache in the child: it follows
            // the child's slot.
            && prepared.hit().is_none_or(|t| !t.ptr_eq(&parent_token))
            && prepared
                .get_token_blocking()
                .is_ok_and(|t| !t.ptr_eq(&parent_token))
            && prepared.hit().is_some();
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let mut status = 0;
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break status;
        }
        if Instant::now() > deadline {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the child hung");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: {status}"
    );
    // The parent is unaffected.
    assert!(pending.await.unwrap().is_ok());
    assert!(c.get_token(&api()).await.unwrap().ptr_eq(&parent_token));
    assert!(prepared.hit().unwrap().ptr_eq(&parent_token));
}
