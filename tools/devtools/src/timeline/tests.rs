use super::*;

#[test]
fn a_long_note_keeps_its_beginning_and_what_happens_next() {
    let note = format!(
        "Attempt 6: called escalation contact Carol Manager (+1******0003) — no answer. {} NOBODY ACCEPTED: please assign this incident by hand.",
        "Twilio execution FN0123; 0 s.".repeat(8)
    );
    let short = elide(&note, NOTE_WIDTH);
    assert_eq!(short.chars().count(), NOTE_WIDTH);
    assert!(short.starts_with("Attempt 6: called escalation contact"));
    assert!(short.ends_with("NOBODY ACCEPTED: please assign this incident by hand."));
    assert_eq!(
        elide("Attempt 1: pressed 1.", NOTE_WIDTH),
        "Attempt 1: pressed 1."
    );
}

#[test]
fn a_note_is_shown_without_its_prefix_and_reference() {
    let w = SnWrite {
        body: json!({"work_notes": "[Phone escalation ESC-0123456789ab] Attempt 1: pressed 1 (accept).\n(ref ESC-0123456789ab:attempt:1)", "state": "2"}),
    };
    assert_eq!(
        w.note_text().as_deref(),
        Some("Attempt 1: pressed 1 (accept).")
    );
    let plain = SnWrite {
        body: json!({"work_notes": "Written by hand"}),
    };
    assert_eq!(plain.note_text().as_deref(), Some("Written by hand"));
    assert_eq!(
        SnWrite {
            body: json!({"state": "2"})
        }
        .note_text(),
        None
    );
}

#[test]
fn states_read_as_servicenow_shows_them() {
    assert_eq!(state_label("2"), "In Progress");
    assert_eq!(state_label("1"), "New");
    assert_eq!(state_label("42"), "42");
}
