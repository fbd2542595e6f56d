//! Cancellation, owned by the engine: one token that Ctrl-C and SIGTERM set, that every long
//! wait (image build, lab up, SSH, the steps) checks, so that an interrupted run stops at the
//! next check and tears its lab down.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::lab::Lab;
use crate::node::{Fleet, SshError, connect_fleet};

/// The run's cancellation token.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Cancel::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The flag the lab and image builders poll.
    pub fn flag(&self) -> &Arc<AtomicBool> {
        &self.0
    }

    /// Sets the token on Ctrl-C or SIGTERM (a task on `rt`); says so on stderr.
    pub fn on_signals(&self, rt: &tokio::runtime::Runtime) {
        let me = self.clone();
        rt.spawn(async move {
            let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
                return;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            eprintln!("\ninterrupted: tearing down");
            me.cancel();
        });
    }
}

/// SSH to every VM of the lab, giving up (`None`) as soon as `cancel` is set.
pub fn connect_or_cancel(
    rt: &tokio::runtime::Runtime,
    lab: &Lab,
    within: Duration,
    cancel: &Cancel,
) -> Option<Result<Fleet, SshError>> {
    rt.block_on(async {
        let connect = connect_fleet(lab.record(), lab.run_dir(), within);
        tokio::pin!(connect);
        loop {
            tokio::select! {
                r = &mut connect => break Some(r),
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    if cancel.is_cancelled() { break None; }
                }
            }
        }
    })
}
