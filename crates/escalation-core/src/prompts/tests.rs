use super::*;
use crate::model::SysId;

fn incident(description: &str, group: Option<&str>) -> Incident {
    Incident {
        sys_id: SysId::parse("ef43c6d40a0a0b5700c77f9bf387afe3").unwrap(),
        number: "INC0010042".into(),
        short_description: description.into(),
        priority: "1".into(),
        assignment_group: None,
        assignment_group_name: group.map(str::to_owned),
    }
}

fn placeholders(text: &str) -> Vec<&str> {
    text.match_indices('{')
        .filter_map(|(i, _)| text[i + 1..].find('}').map(|j| &text[i + 1..i + 1 + j]))
        .collect()
}

#[test]
fn every_text_uses_only_its_placeholders_and_no_markup() {
    for l in LOCALES {
        let t = l.texts;
        let fields: [(&str, &str, &[&str]); 25] = [
            ("bridge_offer", t.bridge_offer, &[]),
            ("bridge_opening", t.bridge_opening, &["number", "callee"]),
            ("bridge_nobody", t.bridge_nobody, &["number"]),
            ("bridge_whisper", t.bridge_whisper, &["caller", "number"]),
            ("bridge_joining", t.bridge_joining, &[]),
            ("bridge_declined", t.bridge_declined, &[]),
            ("test_call", t.test_call, &[]),
            ("intro", t.intro, &["number"]),
            ("priority", t.priority, &["priority", "priority_name"]),
            ("priority_other", t.priority_other, &["priority"]),
            ("group", t.group, &["group"]),
            ("description", t.description, &["description"]),
            ("more", t.more, &[]),
            ("menu", t.menu, &[]),
            ("full", t.full, &["description"]),
            ("accepted", t.accepted, &["number"]),
            ("passed", t.passed, &["number"]),
            ("reason", t.reason, &[]),
            ("escalated", t.escalated, &["number"]),
            ("assigned", t.assigned, &["number"]),
            ("already_accepted", t.already_accepted, &["name"]),
            ("no_longer_needed", t.no_longer_needed, &["number"]),
            ("invalid", t.invalid, &[]),
            ("use_keypad", t.use_keypad, &[]),
            ("name", t.name, &[]),
        ];
        for (field, text, allowed) in fields {
            assert!(!text.trim().is_empty(), "{} {field} is empty", l.tag);
            for p in placeholders(text) {
                assert!(allowed.contains(&p), "{} {field}: unknown {{{p}}}", l.tag);
            }
            assert!(
                !text.contains(['<', '>', '&']),
                "{} {field} holds speech markup",
                l.tag
            );
        }
        for (field, text) in [
            ("accepted", t.accepted),
            ("passed", t.passed),
            ("escalated", t.escalated),
            ("assigned", t.assigned),
        ] {
            assert!(
                text.contains("{number}"),
                "{} {field} must confirm the number",
                l.tag
            );
        }
        let b = &t.bundle;
        let bundle: [(&str, &str, &[&str]); 10] = [
            ("same", b.same, &["count", "priority", "teams"]),
            ("mixed", b.mixed, &["count", "priority", "teams"]),
            ("unknown", b.unknown, &["count", "teams"]),
            ("team", b.team, &["group"]),
            ("teams", b.teams, &["teams"]),
            ("menu", b.menu, &[]),
            (
                "item",
                b.item,
                &["index", "count", "number", "priority", "description"],
            ),
            ("accepted", b.accepted, &["count"]),
            ("passed", b.passed, &["count"]),
            ("escalated", b.escalated, &["count"]),
        ];
        for (field, text, allowed) in bundle {
            assert!(!text.trim().is_empty(), "{} bundle.{field} is empty", l.tag);
            for p in placeholders(text) {
                assert!(
                    allowed.contains(&p),
                    "{} bundle.{field}: unknown {{{p}}}",
                    l.tag
                );
            }
            assert!(
                !text.contains(['<', '>', '&']),
                "{} bundle.{field} holds speech markup",
                l.tag
            );
        }
        for (field, text) in [
            ("accepted", b.accepted),
            ("passed", b.passed),
            ("escalated", b.escalated),
            ("item", b.item),
        ] {
            assert!(
                text.contains("{count}"),
                "{} bundle.{field} must say how many",
                l.tag
            );
        }
        assert!(t.priority_names.iter().all(|n| !n.is_empty()));
        assert!(l.voice.starts_with("Polly.") || l.voice.starts_with("Google."));
    }
    assert_eq!(LOCALES[0].tag, DEFAULT_LANGUAGE);
}

#[test]
fn languages_resolve_exactly_then_by_language_then_to_the_default() {
    assert_eq!(locale(Some("de-DE")).tag, "de-DE");
    assert_eq!(locale(Some("de_de")).tag, "de-DE");
    assert_eq!(locale(Some("de-AT")).tag, "de-DE");
    assert_eq!(locale(Some("de")).tag, "de-DE");
    assert_eq!(locale(Some("en-GB")).tag, "en-GB");
    assert_eq!(locale(Some("fr-FR")).tag, "en-US");
    assert_eq!(locale(Some("")).tag, "en-US");
    assert_eq!(locale(None).tag, "en-US");
    assert!(find("fr-FR").is_none());
    assert!(find("").is_none());
}

#[test]
fn the_english_call_says_number_priority_group_and_description() {
    let s = CallScript::new(locale(None), &incident("Orders DB down", Some("Database")));
    assert_eq!(
        s.details,
        "This is an urgent page for incident I N C, 0 0 1 0 0 4 2. Priority 1, critical. \
         Assignment group: Database. Orders DB down."
    );
    assert_eq!(
        s.accepted,
        "You accepted incident I N C, 0 0 1 0 0 4 2. Thank you."
    );
    assert_eq!((s.language, s.voice), ("en-US", "Polly.Joanna"));
}

#[test]
fn the_german_call_speaks_german() {
    let s = CallScript::new(
        locale(Some("de-DE")),
        &incident("Bestellungen DB aus", Some("Database")),
    );
    assert_eq!(
        s.details,
        "Dies ist ein dringender Alarm für den Incident I N C, 0 0 1 0 0 4 2. Priorität 1, kritisch. \
         Zuständige Gruppe: Database. Bestellungen DB aus."
    );
    assert!(s.menu.starts_with("Drücken Sie die 1"));
    assert_eq!(s.voice, "Polly.Marlene");
}

#[test]
fn a_long_description_is_cut_and_offers_the_full_one() {
    let long = format!("{} end", "word ".repeat(40));
    let s = CallScript::new(locale(None), &incident(&long, None));
    assert!(
        s.details
            .ends_with("word word … Press 9 to hear the full description."),
        "{}",
        s.details
    );
    assert!(!s.details.contains("Assignment group"));
    assert!(s.full.ends_with("word end."), "{}", s.full);
    let short = CallScript::new(locale(None), &incident("Disk full", None));
    assert!(!short.details.contains("Press 9"));
}

#[test]
fn hostile_text_becomes_plain_words() {
    let mut i = incident("R&D <speak>VPN</speak> down", Some("Ops & <b>Net</b>"));
    i.priority = "<9>".into();
    let s = CallScript::new(locale(None), &i);
    assert!(s.details.contains("Priority 9."), "{}", s.details);
    assert!(s.details.contains("Assignment group: Ops and Net."));
    assert!(s.details.contains("R and D VPN down."));
    for (_, text) in s.prompts() {
        assert!(!text.contains(['<', '>', '&']), "{text}");
    }
}

#[test]
fn a_decision_applied_during_the_call_is_answered_in_the_callers_language() {
    let i = incident("Disk full", None);
    assert_eq!(
        decision::assigned(locale(None), &i),
        "You are assigned incident I N C, 0 0 1 0 0 4 2."
    );
    assert_eq!(
        decision::already_accepted(locale(None), "Bob <b>Agent</b>"),
        "This incident was already accepted by Bob Agent. Thank you."
    );
    assert_eq!(
        decision::already_accepted(locale(Some("de-DE")), "Bob Agent"),
        "Dieser Incident wurde bereits von Bob Agent angenommen. Vielen Dank."
    );
    assert!(decision::no_longer_needed(locale(Some("de")), &i).contains("braucht Sie nicht mehr"));
}

#[test]
fn the_bridge_says_who_asks_and_for_which_incident() {
    let en = BridgeScript::new(locale(None), "INC0010042", "Alice <b>&</b>", "Bob");
    assert_eq!(
        en.whisper,
        "This is the phone escalation. Alice and asks you to join a conference bridge for \
         incident I N C, 0 0 1 0 0 4 2. Press 1 to join."
    );
    assert!(en.opening.contains("Calling Bob in."), "{}", en.opening);
    let de = BridgeScript::new(locale(Some("de-DE")), "INC0010042", "Alice", "Bob");
    assert!(de.whisper.contains("Alice bittet Sie"), "{}", de.whisper);
    assert_eq!(de.voice, "Polly.Marlene");
    let s = CallScript::new(locale(Some("de-DE")), &incident("x", None));
    assert!(s.bridge_offer.contains("die 4"));
}

#[test]
fn sms_offers_are_plain_capped_and_in_the_persons_language() {
    let inc = incident(
        "Orders DB <b>down</b> & R&D VPN\u{7} flapping",
        Some("Database"),
    );
    assert_eq!(
        sms::offer(locale(None), &inc),
        "INC0010042 P1 Database: Orders DB down and R and D VPN flapping. Reply 1 to accept, 2 to pass."
    );
    assert_eq!(
        sms::offer(
            locale(Some("de-DE")),
            &incident("Bestelldatenbank antwortet nicht.", None)
        ),
        "INC0010042 P1: Bestelldatenbank antwortet nicht. Antworten Sie 1 zum Annehmen, 2 zum Weitergeben."
    );
    let long = incident(&"word ".repeat(60), Some("Database"));
    let text = sms::offer(locale(None), &long);
    assert!(text.contains("word… Reply 1 to accept"), "{text}");
    assert!(
        text.chars().count() <= 160,
        "{} chars: {text}",
        text.chars().count()
    );
    for l in LOCALES {
        let s = &l.texts.sms;
        let fields: [(&str, &str, &[&str]); 7] = [
            ("offer", s.offer, &["heading", "description"]),
            ("accepted", s.accepted, &["number"]),
            ("passed", s.passed, &["number"]),
            ("taken", s.taken, &["number", "name"]),
            ("over", s.over, &["number"]),
            ("no_offer", s.no_offer, &[]),
            ("failed", s.failed, &[]),
        ];
        for (field, text, allowed) in fields {
            assert!(!text.trim().is_empty(), "{} sms.{field} is empty", l.tag);
            for p in placeholders(text) {
                assert!(
                    allowed.contains(&p),
                    "{} sms.{field}: unknown {{{p}}}",
                    l.tag
                );
            }
        }
        assert!(s.offer.contains('1') && s.offer.contains('2'), "{}", l.tag);
        assert!(s.taken.contains("{name}"), "{}", l.tag);
    }
}

fn numbered(number: &str, priority: &str, group: Option<&str>, description: &str) -> Incident {
    let mut i = incident(description, group);
    i.number = number.into();
    i.priority = priority.into();
    i
}

#[test]
fn a_bundle_call_counts_the_incidents_and_names_their_team() {
    let a = numbered("INC001", "1", Some("Database"), "Orders DB down");
    let b = numbered("INC002", "1", Some("Database"), "Replica lag");
    let s = CallScript::bundle(locale(None), &[&a, &b, &a, &b]);
    assert_eq!(
        s.details,
        "You have 4 new priority 1 incidents for the Database team."
    );
    assert_eq!(
        s.menu,
        "Press 1 to accept all of them. Press 2 to pass them all. Press 9 to hear them one by \
         one. Press star to hear this again."
    );
    assert_eq!(s.accepted, "You accepted all 4 incidents. Thank you.");
    assert_eq!(
        s.passed,
        "You passed all 4 incidents to the next person. Goodbye."
    );
    assert_eq!(s.escalated, "You escalated all 4 incidents. Goodbye.");
    assert_eq!(s.reason, CallScript::new(locale(None), &a).reason);
}

#[test]
fn a_bundle_of_mixed_priorities_and_teams_names_the_most_urgent() {
    let a = numbered("INC001", "3", Some("Database"), "Slow reports");
    let b = numbered("INC002", "1", Some("Network"), "VPN down");
    let c = numbered("INC003", "2", None, "Disk full");
    let s = CallScript::bundle(locale(None), &[&a, &b, &c]);
    assert_eq!(
        s.details,
        "You have 3 new incidents for 2 teams, the most urgent priority 1."
    );
    let none = numbered("INC004", "2", None, "x");
    let s = CallScript::bundle(locale(None), &[&c, &none]);
    assert_eq!(s.details, "You have 2 new priority 2 incidents.");
}

#[test]
fn nine_reads_a_bundles_incidents_one_by_one_in_order() {
    let a = numbered("INC001", "1", None, "Orders DB down");
    let b = numbered("INC002", "2", None, "R&D VPN <b>flapping</b>");
    let s = CallScript::bundle(locale(None), &[&b, &a]);
    assert_eq!(
        s.full,
        "Incident 1 of 2: I N C, 0 0 2, priority 2, R and D VPN flapping. \
         Incident 2 of 2: I N C, 0 0 1, priority 1, Orders DB down."
    );
    let long = numbered("INC009", "1", None, &"word ".repeat(100));
    let ten = [&long; crate::bundle::MAX_BUNDLE];
    let s = CallScript::bundle(locale(None), &ten);
    assert!(s.full.chars().count() < 3000, "{}", s.full.chars().count());
    assert!(s.full.starts_with("Incident 1 of 10: "), "{}", s.full);
    assert!(s.full.contains("Incident 10 of 10: "), "{}", s.full);
}

#[test]
fn a_bundle_call_speaks_german() {
    let a = numbered("INC001", "1", Some("Database"), "Bestellungen DB aus");
    let b = numbered("INC002", "2", Some("Database"), "Replikat hängt");
    let s = CallScript::bundle(locale(Some("de-DE")), &[&a, &b]);
    assert_eq!(
        s.details,
        "Sie haben 2 neue Incidents für das Team Database, der dringendste mit Priorität 1."
    );
    assert!(s.menu.starts_with("Drücken Sie die 1, um alle anzunehmen."));
    assert!(
        s.full
            .starts_with("Incident 1 von 2: I N C, 0 0 1, Priorität 1, Bestellungen DB aus.")
    );
    assert_eq!(
        s.accepted,
        "Sie haben alle 2 Incidents angenommen. Vielen Dank."
    );
    assert_eq!(s.voice, "Polly.Marlene");
}

#[test]
fn a_bundle_of_one_is_an_ordinary_call() {
    let a = incident("Disk full", Some("Database"));
    assert_eq!(
        CallScript::bundle(locale(None), &[&a]),
        CallScript::new(locale(None), &a)
    );
}
