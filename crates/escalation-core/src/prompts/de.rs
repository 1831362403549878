//! German (Deutsch).

use super::Texts;
use super::sms::SmsTexts;

pub(super) const TEXTS: Texts = Texts {
    name: "Deutsch",
    intro: "Dies ist ein dringender Alarm für den Incident {number}.",
    priority: "Priorität {priority}, {priority_name}.",
    priority_names: ["kritisch", "hoch", "mittel", "niedrig", "Planung"],
    priority_other: "Priorität {priority}.",
    group: "Zuständige Gruppe: {group}.",
    description: "{description}",
    more: "Drücken Sie die 9, um die vollständige Beschreibung zu hören.",
    menu: "Drücken Sie die 1, um anzunehmen, die 2, um an die nächste Person weiterzugeben, die 3, um zu eskalieren. Drücken Sie die Sterntaste, um alles noch einmal zu hören.",
    full: "Die vollständige Beschreibung: {description}",
    accepted: "Sie haben den Incident {number} angenommen. Vielen Dank.",
    passed: "Sie haben den Incident {number} an die nächste Person weitergegeben. Auf Wiederhören.",
    reason: "Bevor Sie auflegen: Drücken Sie die 1, wenn Sie gerade fahren, die 2, wenn Sie keinen Laptop dabeihaben, die 3, wenn das nicht Ihr Bereich ist.",
    escalated: "Sie haben den Incident {number} eskaliert. Auf Wiederhören.",
    assigned: "Der Incident {number} ist Ihnen zugewiesen.",
    already_accepted: "Dieser Incident wurde bereits von {name} angenommen. Vielen Dank.",
    no_longer_needed: "Der Incident {number} braucht Sie nicht mehr. Vielen Dank.",
    invalid: "Diese Taste ist keine gültige Auswahl.",
    use_keypad: "Bitte antworten Sie über die Tastatur Ihres Telefons.",
    test_call: "Dies ist ein Testanruf der Telefon-Eskalation. Kein Incident braucht Sie.",
    bridge_offer: "Um eine Telefonkonferenz zu eröffnen und die nächste Person dazuzuholen, drücken Sie jetzt die 4.",
    bridge_opening: "Die Telefonkonferenz für den Incident {number} wird eröffnet. {callee} wird angerufen. Bitte bleiben Sie in der Leitung.",
    bridge_nobody: "Für den Incident {number} gibt es niemanden mehr, der dazugeholt werden kann. Auf Wiederhören.",
    bridge_whisper: "Hier ist die Telefon-Eskalation. {caller} bittet Sie in eine Telefonkonferenz zum Incident {number}. Drücken Sie die 1, um teilzunehmen.",
    bridge_joining: "Sie werden jetzt in die Konferenz geschaltet.",
    bridge_declined: "Sie haben nicht an der Konferenz teilgenommen. Auf Wiederhören.",
    sms: SmsTexts {
        offer: "{heading}: {description}. Antworten Sie 1 zum Annehmen, 2 zum Weitergeben.",
        accepted: "Sie haben {number} angenommen. Vielen Dank.",
        passed: "Sie haben {number} weitergegeben. Die nächste Person wird angerufen.",
        taken: "{number} wurde bereits von {name} angenommen. Es wurde nichts geändert.",
        over: "{number} braucht keine Antwort mehr: die Eskalation ist beendet. Es wurde nichts geändert.",
        no_offer: "Für Ihre Nummer ist keine Eskalations-SMS offen, daher wurde nichts geändert. Antworten Sie 1 oder 2 nur auf eine Eskalations-SMS.",
        failed: "Ihre Antwort konnte gerade nicht verarbeitet werden. Bitte versuchen Sie es in einer Minute noch einmal.",
    },
};
