//! ServiceNow encoded queries (`sysparm_query`): the subset the fake understands.
//!
//! Terms are separated by `^` (a literal `^` is written `^^`). A term starting with `OR` is
//! OR-ed with the previous term; `ORDERBY<f>` / `ORDERBYDESC<f>` sort. Operators: `=`, `!=`,
//! `LIKE`, `NOTLIKE`, `STARTSWITH`, `ENDSWITH`, `ISEMPTY`, `ISNOTEMPTY`, `IN`, `NOT IN`,
//! `<`, `<=`, `>`, `>=`. Values are case-sensitive. As on a real instance, a term that cannot
//! be parsed, or that names a field the table does not have, is silently ignored.

use std::cmp::Ordering;
use std::collections::BTreeSet;

#[derive(Clone, Debug, PartialEq)]
enum Op {
    Eq(String),
    Ne(String),
    Like(String),
    NotLike(String),
    StartsWith(String),
    EndsWith(String),
    IsEmpty,
    IsNotEmpty,
    In(Vec<String>),
    NotIn(Vec<String>),
    Lt(String),
    Le(String),
    Gt(String),
    Ge(String),
}

#[derive(Clone, Debug, PartialEq)]
struct Cond {
    field: String,
    op: Op,
}

/// A parsed encoded query: a conjunction of disjunctions, plus ordering.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Query {
    groups: Vec<Vec<Cond>>,
    order: Vec<(String, bool)>,
}

const OPS: &[&str] = &[
    "!=",
    ">=",
    "<=",
    "=",
    ">",
    "<",
    "NOTLIKE",
    "LIKE",
    "STARTSWITH",
    "ENDSWITH",
    "ISNOTEMPTY",
    "ISEMPTY",
    "NOT IN",
    "IN",
];

fn parse_cond(term: &str) -> Option<Cond> {
    let end = term
        .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'))
        .unwrap_or(term.len());
    let (field, rest) = term.split_at(end);
    if field.is_empty() {
        return None;
    }
    let op_name = OPS.iter().find(|op| rest.starts_with(**op))?;
    let value = rest[op_name.len()..].to_owned();
    let list = |v: &str| v.split(',').map(str::to_owned).collect::<Vec<_>>();
    let op = match *op_name {
        "!=" => Op::Ne(value),
        ">=" => Op::Ge(value),
        "<=" => Op::Le(value),
        "=" => Op::Eq(value),
        ">" => Op::Gt(value),
        "<" => Op::Lt(value),
        "NOTLIKE" => Op::NotLike(value),
        "LIKE" => Op::Like(value),
        "STARTSWITH" => Op::StartsWith(value),
        "ENDSWITH" => Op::EndsWith(value),
        "ISNOTEMPTY" => Op::IsNotEmpty,
        "ISEMPTY" => Op::IsEmpty,
        "NOT IN" => Op::NotIn(list(&value)),
        _ => Op::In(list(&value)),
    };
    Some(Cond {
        field: field.to_owned(),
        op,
    })
}

impl Query {
    pub(crate) fn parse(encoded: &str) -> Self {
        const CARET: char = '\u{1}';
        let escaped = encoded.replace("^^", &CARET.to_string());
        let mut q = Query::default();
        for raw in escaped.split('^') {
            let term = raw.replace(CARET, "^");
            if term.is_empty() {
                continue;
            }
            if let Some(f) = term.strip_prefix("ORDERBYDESC") {
                if !f.is_empty() {
                    q.order.push((f.to_owned(), true));
                }
            } else if let Some(f) = term.strip_prefix("ORDERBY") {
                if !f.is_empty() {
                    q.order.push((f.to_owned(), false));
                }
            } else if let Some(rest) = term.strip_prefix("OR") {
                if let Some(c) = parse_cond(rest) {
                    match q.groups.last_mut() {
                        Some(g) => g.push(c),
                        None => q.groups.push(vec![c]),
                    }
                }
            } else if let Some(c) = parse_cond(&term) {
                q.groups.push(vec![c]);
            }
        }
        q
    }

    /// Equality filters from `name=value` URL shorthand.
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> Self {
        Query {
            groups: pairs
                .iter()
                .map(|(k, v)| {
                    vec![Cond {
                        field: k.clone(),
                        op: Op::Eq(v.clone()),
                    }]
                })
                .collect(),
            order: Vec::new(),
        }
    }

    /// Whether a row matches. `known` lists the table's fields; conditions on other fields are
    /// ignored (a group whose conditions are all ignored is ignored).
    pub(crate) fn matches<'a>(
        &self,
        known: &BTreeSet<String>,
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> bool {
        self.groups.iter().all(|group| {
            let valid: Vec<&Cond> = group.iter().filter(|c| known.contains(&c.field)).collect();
            valid.is_empty()
                || valid
                    .iter()
                    .any(|c| eval(&c.op, get(&c.field).unwrap_or_default()))
        })
    }

    /// Sort key comparator over rows: `get(row, field)`; ties keep insertion order (`idx`).
    pub(crate) fn compare(
        &self,
        a: (usize, &dyn Fn(&str) -> String),
        b: (usize, &dyn Fn(&str) -> String),
    ) -> Ordering {
        for (field, desc) in &self.order {
            let ord = cmp_values(&(a.1)(field), &(b.1)(field));
            let ord = if *desc { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        let tie = a.0.cmp(&b.0);
        match self.order.first() {
            Some((_, true)) => tie.reverse(),
            _ => tie,
        }
    }

    pub(crate) fn has_order(&self) -> bool {
        !self.order.is_empty()
    }
}

fn cmp_values(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

fn eval(op: &Op, v: &str) -> bool {
    match op {
        Op::Eq(x) => v == x,
        Op::Ne(x) => v != x,
        Op::Like(x) => v.contains(x.as_str()),
        Op::NotLike(x) => !v.contains(x.as_str()),
        Op::StartsWith(x) => v.starts_with(x.as_str()),
        Op::EndsWith(x) => v.ends_with(x.as_str()),
        Op::IsEmpty => v.is_empty(),
        Op::IsNotEmpty => !v.is_empty(),
        Op::In(xs) => xs.iter().any(|x| x == v),
        Op::NotIn(xs) => xs.iter().all(|x| x != v),
        Op::Lt(x) => cmp_values(v, x) == Ordering::Less,
        Op::Le(x) => cmp_values(v, x) != Ordering::Greater,
        Op::Gt(x) => cmp_values(v, x) == Ordering::Greater,
        Op::Ge(x) => cmp_values(v, x) != Ordering::Less,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn known() -> BTreeSet<String> {
        ["user_name", "phone", "mobile_phone", "active"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    }

    fn row(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn hit(q: &str, r: &BTreeMap<String, String>) -> bool {
        Query::parse(q).matches(&known(), |f| r.get(f).map(String::as_str))
    }

    #[test]
    fn and_or_like() {
        let r = row(&[
            ("user_name", "beth.anglin"),
            ("phone", "+1 555 010 0001"),
            ("mobile_phone", ""),
            ("active", "true"),
        ]);
        assert!(hit("user_name=beth.anglin^active=true", &r));
        assert!(!hit("user_name=beth.anglin^active=false", &r));
        assert!(hit("mobile_phone=+15550100001^ORphone=+1 555 010 0001", &r));
        assert!(hit("phoneLIKE010 0001", &r));
        assert!(!hit("phoneLIKE0100001", &r));
        assert!(hit(
            "user_nameSTARTSWITHbeth^phoneISNOTEMPTY^mobile_phoneISEMPTY",
            &r
        ));
        assert!(hit("user_nameINx,beth.anglin", &r));
        // Unknown fields and garbage are ignored, as on a real instance.
        assert!(hit("no_such_field=1^%%%^active=true", &r));
        assert!(!hit("user_name=Beth.Anglin", &r));
    }

    #[test]
    fn ordering() {
        let q = Query::parse("element_id=x^ORDERBYDESCsys_created_on");
        assert_eq!(q.order, vec![("sys_created_on".to_owned(), true)]);
        let a = |_: &str| "2026-01-01 00:00:00".to_owned();
        assert_eq!(q.compare((0, &a), (1, &a)), Ordering::Greater);
    }
}
