//! Sessions: every `init` starts one with a random 128-bit id; `session.start` is its first event
//! (session index 0) and `session.end` its last, made by the collector itself so that they come
//! first and last in index order whatever the threads do. `telem::new_session()` ends one and
//! starts the next.

use crate::collect::local::ThreadInfo;
use crate::collect::ring::Run;
use crate::events::level::Level;
use crate::trace::callsite::CallSite;
use crate::trace::record::{Extra, Record};
use crate::trace::value::Value;
use std::borrow::Cow;

pub(crate) static START: CallSite = CallSite::event("session.start", Level::Info, "telem", file!(), line!(), &[]);
pub(crate) static END: CallSite = CallSite::event("session.end", Level::Info, "telem", file!(), line!(), &[]);

/// The thread session events are attributed to: telem itself.
pub(crate) const THREAD: ThreadInfo = ThreadInfo { id: 0, name: "telem" };

/// A fresh random session id.
pub(crate) fn new_id() -> u128 {
    let mut state = crate::ids::os_seed();
    let high = crate::ids::wyrand(&mut state) as u128;
    (high << 64) | crate::ids::wyrand(&mut state) as u128
}

/// The session event `site` of session `id`, as a run of its own.
pub(crate) fn event(site: &'static CallSite, id: u128) -> Run {
    let extra = Extra {
        attributes: vec![(Cow::Borrowed("session.id"), Value::Str(Cow::Owned(format!("{id:032x}"))))],
        ..Extra::default()
    };
    let record = Record {
        trace_id: 0,
        site: Record::site_word(site, 0),
        span_id: 0,
        parent_id: 0,
        start: crate::clock::now(),
        end: 0,
        extra: Some(Box::new(extra)),
    };
    Run::owned(vec![record]).expect("one record")
}
