//! English.

use super::Texts;
use super::sms::SmsTexts;

pub(super) const TEXTS: Texts = Texts {
    name: "English",
    intro: "This is an urgent page for incident {number}.",
    priority: "Priority {priority}, {priority_name}.",
    priority_names: ["critical", "high", "moderate", "low", "planning"],
    priority_other: "Priority {priority}.",
    group: "Assignment group: {group}.",
    description: "{description}",
    more: "Press 9 to hear the full description.",
    menu: "Press 1 to accept, 2 to pass to the next person, 3 to escalate. Press star to hear everything again.",
    full: "The full description: {description}",
    accepted: "You accepted incident {number}. Thank you.",
    passed: "You passed incident {number} to the next person. Goodbye.",
    reason: "Before you go: press 1 if you are driving, 2 if you have no laptop with you, 3 if this is not your area.",
    escalated: "You escalated incident {number}. Goodbye.",
    assigned: "You are assigned incident {number}.",
    already_accepted: "This incident was already accepted by {name}. Thank you.",
    no_longer_needed: "Incident {number} no longer needs you. Thank you.",
    invalid: "Sorry, that key is not one of the choices.",
    use_keypad: "Please answer with the keypad of your phone.",
    test_call: "This is a test call of the phone escalation. No incident needs you.",
    bridge_offer: "To open a conference bridge and call the next person in, press 4 now.",
    bridge_opening: "Opening a conference bridge for incident {number}. Calling {callee} in. Please stay on the line.",
    bridge_nobody: "There is nobody else to call in for incident {number}. Goodbye.",
    bridge_whisper: "This is the phone escalation. {caller} asks you to join a conference bridge for incident {number}. Press 1 to join.",
    bridge_joining: "Joining you to the bridge now.",
    bridge_declined: "You did not join the bridge. Goodbye.",
    sms: SmsTexts {
        offer: "{heading}: {description}. Reply 1 to accept, 2 to pass.",
        accepted: "You accepted {number}. Thank you.",
        passed: "You passed {number}. The next person is being called.",
        taken: "{number} was already accepted by {name}. Nothing was changed.",
        over: "{number} no longer needs an answer: its escalation has ended. Nothing was changed.",
        no_offer: "There is no open escalation text for your number, so nothing was changed. Reply 1 or 2 only to an escalation text.",
        failed: "Sorry, your reply could not be applied right now. Please try again in a minute.",
    },
};
