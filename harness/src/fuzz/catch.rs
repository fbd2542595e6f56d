//! Catching a reader's panic as a finding: `catch_unwind` around the call, and a panic hook
//! that records the message and location instead of printing them, only on a thread that is
//! fuzzing (every other panic, e.g. a failing test beside it, is printed as usual).

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

/// A panic caught in a reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Panic {
    pub message: String,
    /// `file:line:column`; what tells two crashers apart.
    pub location: String,
}

impl std::fmt::Display for Panic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "panicked at {}: {}", self.location, self.message)
    }
}

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static CAUGHT: RefCell<Option<Panic>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_owned(),
        (_, Some(s)) => s.clone(),
        _ => "(a panic payload that is not text)".to_owned(),
    }
}

fn install() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info: &PanicHookInfo| {
            if QUIET.get() {
                let location = info.location().map_or_else(|| "unknown".to_owned(), |l| l.to_string());
                CAUGHT.set(Some(Panic { message: message(info.payload()), location }));
            } else {
                previous(info);
            }
        }));
    });
}

/// Run `f`; a panic in it is returned, not printed.
pub fn catch(f: impl FnOnce()) -> Result<(), Panic> {
    install();
    QUIET.set(true);
    let result = std::panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.set(false);
    result.map_err(|payload| {
        CAUGHT.take().unwrap_or_else(|| Panic { message: message(&*payload), location: "unknown".to_owned() })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_returned_with_its_location() {
        assert_eq!(catch(|| {}), Ok(()));
        let p = catch(|| {
            let v: Vec<u8> = Vec::new();
            std::hint::black_box(v[3]);
        })
        .unwrap_err();
        assert!(p.message.contains("index out of bounds"), "{p}");
        assert!(p.location.starts_with("harness/src/fuzz/catch.rs:"), "{p}");
        let p = catch(|| panic!("{}", String::from("owned"))).unwrap_err();
        assert_eq!(p.message, "owned");
    }
}
