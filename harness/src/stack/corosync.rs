//! corosync's own log lines, the same under every HA stack: which lines say that a node's view
//! of quorum changed, and the member list corosync writes right after such a change. Each
//! stack's grammar owns its events; this holds the bookkeeping that turns corosync's two-line
//! report into one `Quorum` event.

use std::collections::HashMap;

use crate::timeline::{Event, EventData};

/// What a corosync message says about quorum.
#[derive(Debug, PartialEq)]
pub(crate) enum QuorumLine<'a> {
    /// The node's partition is (or is not) quorate.
    Quorate(bool),
    /// `Members[N]: 1 2 3`; a long list wraps with a trailing `\`.
    Members { ids: Vec<String>, wraps: bool },
    /// Anything else, with the `[SUBSYS]` tag stripped.
    Other(&'a str),
}

/// Classify a corosync message (the syslog text after `corosync[PID]: `).
pub(crate) fn classify(msg: &str) -> Option<QuorumLine<'_>> {
    // Strip the `[QUORUM] ` subsystem tag, padded with spaces.
    let mut m = msg.trim_start();
    if m.starts_with('[')
        && let Some(i) = m.find(']')
    {
        m = m[i + 1..].trim_start();
    }
    if m.starts_with("This node is within the primary component") || m.starts_with("quorum regained") {
        return Some(QuorumLine::Quorate(true));
    }
    if m.starts_with("This node is within the non-primary component") || m.starts_with("quorum lost") {
        return Some(QuorumLine::Quorate(false));
    }
    if let Some(rest) = m.strip_prefix("Members[") {
        let (_, list) = rest.split_once("]:")?;
        let (list, wraps) = match list.trim_end().strip_suffix('\\') {
            Some(l) => (l, true),
            None => (list, false),
        };
        return Some(QuorumLine::Members { ids: list.split_ascii_whitespace().map(str::to_owned).collect(), wraps });
    }
    Some(QuorumLine::Other(m))
}

/// Each node's last known view of quorum, and the index of its quorum event still waiting for
/// the member list.
#[derive(Debug, Default)]
pub(crate) struct QuorumViews(HashMap<String, (bool, Option<usize>)>);

impl QuorumViews {
    /// The event for a change of `node`'s view, or `None` when it repeats what is known
    /// (votequorum's debug line, or Pacemaker's controller, says it again). After pushing it,
    /// call `pushed`.
    pub(crate) fn change(&self, node: &str, quorate: bool) -> Option<EventData> {
        (self.0.get(node).map(|q| q.0) != Some(quorate)).then(|| EventData::Quorum {
            node: node.to_owned(),
            quorate,
            members: None,
        })
    }

    /// Remember the quorum event just pushed at `index` of the events.
    pub(crate) fn pushed(&mut self, node: &str, event: &EventData, index: usize) {
        if let EventData::Quorum { quorate, .. } = event {
            self.0.insert(node.to_owned(), (*quorate, Some(index)));
        }
    }

    /// The member list of `node`'s view: added to the quorum event waiting for it, or else
    /// (a membership change without a quorum change) a new event to push, then `pushed`.
    /// Once the list is complete (it did not wrap), call `settled`.
    pub(crate) fn members(&mut self, events: &mut [Event], node: &str, ids: Vec<String>) -> Option<EventData> {
        // Quorum not known yet (e.g. the first membership of an inquorate start).
        let &(quorate, pending) = self.0.get(node)?;

        match pending.and_then(|i| events.get_mut(i)) {
            Some(Event { data: EventData::Quorum { members, .. }, .. }) => {
                members.get_or_insert_with(Vec::new).extend(ids);
                None
            }
            _ => Some(EventData::Quorum { node: node.to_owned(), quorate, members: Some(ids) }),
        }
    }

    /// The earliest index of a quorum event still waiting for its member list: a live reader
    /// holds back the events from there on, since the list is added to that event in place.
    pub(crate) fn pending(&self) -> Option<usize> {
        self.0.values().filter_map(|q| q.1).min()
    }

    /// The list is complete: later member lines belong to a new view.
    pub(crate) fn settled(&mut self, node: &str) {
        if let Some(q) = self.0.get_mut(node) {
            q.1 = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Seconds;

    #[test]
    fn lines_are_classified_with_their_tag_stripped() {
        assert_eq!(
            classify("  [QUORUM] This node is within the primary component and will provide service."),
            Some(QuorumLine::Quorate(true))
        );
        assert_eq!(classify("[VOTEQ ] quorum lost, blocking activity"), Some(QuorumLine::Quorate(false)));
        assert_eq!(
            classify("[QUORUM] Members[3]: 1 2 \\"),
            Some(QuorumLine::Members { ids: vec!["1".into(), "2".into()], wraps: true })
        );
        assert_eq!(classify("[QUORUM] Members[3 garbled"), None);
        assert_eq!(classify("[TOTEM ] A processor failed"), Some(QuorumLine::Other("A processor failed")));
    }

    #[test]
    fn a_change_and_its_members_make_one_event() {
        let mut views = QuorumViews::default();
        let mut events = Vec::new();
        let e = views.change("n1", true).expect("news");
        views.pushed("n1", &e, events.len());
        events.push(Event::new(Seconds(1.0), e));
        assert!(views.members(&mut events, "n1", vec!["1".into()]).is_none());
        assert!(views.members(&mut events, "n1", vec!["2".into()]).is_none());
        assert_eq!(views.pending(), Some(0), "waiting for the rest of the list");
        views.settled("n1");
        assert_eq!(views.pending(), None);
        assert_eq!(events.len(), 1);
        assert!(matches!(&events[0].data, EventData::Quorum { members: Some(m), .. } if m == &["1", "2"]));
        assert!(views.change("n1", true).is_none(), "a repeat is no news");
        // Later members without a quorum change: a new view of the same quorum.
        let fresh = views.members(&mut events, "n1", vec!["1".into()]).expect("a new view");
        assert!(matches!(fresh, EventData::Quorum { quorate: true, .. }));
    }
}
