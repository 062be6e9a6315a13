//! Golden files: `expected/<group>/<name>.json`.
//!
//! A golden is a JSON object whose keys name GIC versions and whose values
//! are the expected event lists: `"all"` for every version the case runs
//! on, or a comma-separated list such as `"v3,v4"` or `"v2"`. A version
//! uses the entry that names it, else `"all"`. Every value in it must follow
//! from the spec sections the case cites; `--bless` writes what a run
//! produced only so that a person can check it against the spec.
//!
//! Reading is strict, because a golden that a JSON reader would quietly
//! reinterpret is a wrong golden: a key repeated in any object (JSON
//! readers keep the last), a version named by two keys (which one applies
//! would depend on key order), and an event whose `step` is not a positive
//! integer are errors, each located by line and column. A UTF-8
//! byte-order mark at the start is ignored.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::Path;

use gic_case::GicVersion;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// A parsed golden file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Golden {
    /// Entries in file order: (versions or empty for `all`, events).
    pub entries: Vec<(Vec<GicVersion>, Vec<Value>)>,
}

impl Golden {
    /// Parses golden text (a leading UTF-8 byte-order mark is skipped).
    ///
    /// # Errors
    /// `line:col: what is wrong; what was expected` for the first of:
    /// invalid JSON; a value that is not an object of event lists; a key
    /// that is not `all` or a version list (`v2`, `v3,v4`); a version named
    /// twice, in one key or in two; a key repeated in any object, at any
    /// depth; an event that is not an object, has no `step`, or whose
    /// `step` is not a positive integer.
    pub fn parse(text: &str) -> Result<Golden, String> {
        parse_strict(text, None)
    }

    /// As [`Golden::parse`], and every event's `step` must also be one of
    /// `steps`, the statement numbers of case `case` (see `Case::steps`).
    ///
    /// # Errors
    /// As [`Golden::parse`], and, at the first event naming another step,
    /// ``line:col: key `all`: event {…} names step 12, which lr/x does not
    /// have; its steps are 1-9``.
    pub fn parse_for_case(text: &str, case: &str, steps: &[u16]) -> Result<Golden, String> {
        parse_strict(text, Some((case, steps)))
    }

    /// Reads and parses a golden file.
    ///
    /// # Errors
    /// I/O or parse errors, prefixed with the path: `path: …` or
    /// `path:line:col: …`.
    pub fn load(path: &Path) -> Result<Golden, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Golden::parse(&text).map_err(|e| located(path, &e))
    }

    /// Reads and parses a golden file, checking its steps against case
    /// `case` as [`Golden::parse_for_case`] does.
    ///
    /// # Errors
    /// As [`Golden::load`].
    pub fn load_for_case(path: &Path, case: &str, steps: &[u16]) -> Result<Golden, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Golden::parse_for_case(&text, case, steps).map_err(|e| located(path, &e))
    }

    /// The expected events for version `v`, if the golden covers it.
    ///
    /// With only `all`, or only a key naming `v`, that list. With both, the
    /// key naming `v` overrides single events of `all`: its event replaces
    /// the one of `all` with the same step, `op` and `cpu`; an event that
    /// `all` lacks is added in step order; an event `{"step":N,"op":…,
    /// "absent":true}` removes that event of `all`.
    pub fn for_version(&self, v: GicVersion) -> Option<Vec<Value>> {
        let own = self.entries.iter().find(|(vs, _)| vs.contains(&v)).map(|(_, e)| e);
        let all = self.entries.iter().find(|(vs, _)| vs.is_empty()).map(|(_, e)| e);
        match (all, own) {
            (None, None) => None,
            (Some(e), None) => Some(without_absent(e)),
            (None, Some(e)) => Some(without_absent(e)),
            (Some(all), Some(own)) => {
                let mut out: Vec<Value> = all.clone();
                for o in own {
                    match out.iter().position(|e| crate::judge::compare::key_of(e) == crate::judge::compare::key_of(o))
                    {
                        Some(i) => out[i] = o.clone(),
                        None => {
                            let step = crate::judge::compare::key_of(o).0;
                            let at =
                                out.iter().position(|e| crate::judge::compare::key_of(e).0 > step).unwrap_or(out.len());
                            out.insert(at, o.clone());
                        }
                    }
                }
                Some(without_absent(&out))
            }
        }
    }

    /// Builds a golden from per-version events, grouping identical lists;
    /// uses `all` when every version in `case_versions` has the same events.
    pub fn from_runs(case_versions: &[GicVersion], runs: &BTreeMap<GicVersion, Vec<Value>>) -> Golden {
        let mut groups: Vec<(Vec<GicVersion>, Vec<Value>)> = Vec::new();
        for (v, ev) in runs {
            match groups.iter_mut().find(|(_, e)| e == ev) {
                Some((vs, _)) => vs.push(*v),
                None => groups.push((vec![*v], ev.clone())),
            }
        }
        if groups.len() == 1 && case_versions.iter().all(|v| groups[0].0.contains(v)) {
            groups[0].0.clear();
        }
        Golden { entries: groups }
    }

    /// Renders the golden: one event per line, so diffs stay readable.
    pub fn render(&self) -> String {
        let mut s = String::from("{\n");
        for (i, (vs, events)) in self.entries.iter().enumerate() {
            let key = if vs.is_empty() {
                "all".to_string()
            } else {
                vs.iter().map(|v| v.name()).collect::<Vec<_>>().join(",")
            };
            let _ = writeln!(s, "  \"{key}\": [");
            for (j, e) in events.iter().enumerate() {
                let comma = if j + 1 < events.len() { "," } else { "" };
                let _ = writeln!(s, "    {e}{comma}");
            }
            let comma = if i + 1 < self.entries.len() { "," } else { "" };
            let _ = writeln!(s, "  ]{comma}");
        }
        s.push_str("}\n");
        s
    }

    /// Whether any event value is an expression (`"=…"`).
    pub fn has_expressions(&self) -> bool {
        self.entries
            .iter()
            .flat_map(|(_, e)| e)
            .filter_map(Value::as_object)
            .any(|o| o.values().any(|v| crate::case::expr::source_of(v).is_some()))
    }

    /// Versions of `wanted` this golden gives no events for.
    pub fn missing_versions(&self, wanted: &[GicVersion]) -> Vec<GicVersion> {
        wanted.iter().copied().filter(|v| self.for_version(*v).is_none()).collect()
    }
}

/// The events without those marked `"absent": true`.
fn without_absent(events: &[Value]) -> Vec<Value> {
    events.iter().filter(|e| e.get("absent") != Some(&Value::Bool(true))).cloned().collect()
}

/// How a case's steps read in messages: `its steps are 1-9`, `its steps
/// are 1-4, 6` or `it has no steps`. `steps` may come in any order and
/// repeat (as in `Case::steps`).
pub fn describe_steps(steps: &[u16]) -> String {
    let mut s: Vec<u16> = steps.to_vec();
    s.sort_unstable();
    s.dedup();
    let mut runs: Vec<String> = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let mut j = i;
        while j + 1 < s.len() && s[j + 1] == s[j] + 1 {
            j += 1;
        }
        runs.push(if j == i { s[i].to_string() } else { format!("{}-{}", s[i], s[j]) });
        i = j + 1;
    }
    if runs.is_empty() {
        "it has no steps".into()
    } else {
        format!("its steps are {}", runs.join(", "))
    }
}

/// `path:line:col: …` when `e` starts with a position, `path: …` otherwise.
fn located(path: &Path, e: &str) -> String {
    let mut parts = e.splitn(3, ':');
    let positioned = parts.by_ref().take(2).filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())).count()
        == 2
        && parts.next().is_some();
    if positioned {
        format!("{}:{e}", path.display())
    } else {
        format!("{}: {e}", path.display())
    }
}

/// Feeds serde_json one byte per read and counts them, so that a visitor
/// knows where in the text the token it is given starts. A bare
/// hexadecimal number outside strings (`0xa0`) is handed on as its decimal
/// value, padded with spaces to the same width so that positions serde_json
/// reports stay those of the text.
struct Counting<'a> {
    bytes: &'a [u8],
    pos: &'a Cell<usize>,
    /// Bytes of a rewritten hexadecimal number still to hand on.
    pending: std::collections::VecDeque<u8>,
    in_string: bool,
    escaped: bool,
    /// A hexadecimal number that cannot be rewritten in place: (offset, message).
    bad_hex: &'a RefCell<Option<(usize, String)>>,
}

impl Counting<'_> {
    /// The decimal text of the hexadecimal number starting at `p`, and its
    /// length in the source, if a bare `0x…` number starts there.
    fn hex_at(&self, p: usize) -> Option<Result<(String, usize), String>> {
        let b = self.bytes;
        let starts = b.get(p) == Some(&b'0')
            && matches!(b.get(p + 1), Some(b'x' | b'X'))
            && (p == 0 || !b[p - 1].is_ascii_alphanumeric());
        if !starts {
            return None;
        }
        let digits = b[p + 2..].iter().take_while(|c| c.is_ascii_alphanumeric()).count();
        let text = std::str::from_utf8(&b[p..p + 2 + digits]).unwrap_or_default();
        let parsed = u64::from_str_radix(&text[2..], 16).ok().filter(|_| digits > 0);
        Some(match parsed {
            None => Err(format!("`{text}` is not a hexadecimal number")),
            Some(_) if digits > 9 => Err(format!(
                "`{text}`: bare hexadecimal numbers have at most 9 digits; write a larger value in decimal"
            )),
            Some(n) => Ok((format!("{n:<width$}", width = 2 + digits), 2 + digits)),
        })
    }
}

impl std::io::Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some(slot) = buf.first_mut() else { return Ok(0) };
        if let Some(b) = self.pending.pop_front() {
            *slot = b;
            return Ok(1);
        }
        let p = self.pos.get();
        let Some(&b) = self.bytes.get(p) else { return Ok(0) };
        if self.in_string {
            match (self.escaped, b) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            self.in_string = true;
        } else if let Some(hex) = self.hex_at(p) {
            match hex {
                Ok((dec, len)) => {
                    self.pending.extend(dec.bytes());
                    self.pos.set(p + len);
                    *slot = self.pending.pop_front().unwrap_or(b' ');
                    return Ok(1);
                }
                Err(msg) => {
                    self.bad_hex.borrow_mut().get_or_insert((p, msg));
                    return Ok(0);
                }
            }
        }
        *slot = b;
        self.pos.set(p + 1);
        Ok(1)
    }
}

/// What the visitors share while one golden is read.
struct Ctx<'a> {
    /// Bytes serde_json has read (its one-byte look-ahead included).
    pos: &'a Cell<usize>,
    /// The error a visitor raised: (byte offset, message). serde_json would
    /// place it where it noticed the failure, past the offending token.
    err: RefCell<Option<(usize, String)>>,
    /// The case's name and steps, when events are checked against them.
    case: Option<(&'a str, &'a [u16])>,
}

impl Ctx<'_> {
    /// Offset of the token serde_json has just begun: when a visitor or seed
    /// is called, the token's first byte (`"`, `{`, `[`) is the last byte read.
    fn here(&self) -> usize {
        self.pos.get().saturating_sub(1)
    }

    fn fail<E: de::Error>(&self, at: usize, msg: String) -> E {
        let e = E::custom(&msg);
        self.err.borrow_mut().get_or_insert((at, msg));
        e
    }
}

fn parse_strict(text: &str, case: Option<(&str, &[u16])>) -> Result<Golden, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let pos = Cell::new(0);
    let bad_hex = RefCell::new(None);
    let ctx = Ctx { pos: &pos, err: RefCell::new(None), case };
    let reader = Counting {
        bytes: text.as_bytes(),
        pos: &pos,
        pending: Default::default(),
        in_string: false,
        escaped: false,
        bad_hex: &bad_hex,
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let golden = TopSeed(&ctx).deserialize(&mut de).and_then(|g| de.end().map(|()| g));
    golden.map_err(|e| match bad_hex.take().or_else(|| ctx.err.take()) {
        Some((at, msg)) => {
            let before = text.get(..at).unwrap_or(text);
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            format!("{}:{}: {msg}", before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
        }
        None => {
            let full = e.to_string();
            let msg = full.strip_suffix(&format!(" at line {} column {}", e.line(), e.column())).unwrap_or(&full);
            if e.line() == 0 {
                msg.to_string()
            } else {
                format!("{}:{}: {msg}", e.line(), e.column())
            }
        }
    })
}

fn duplicate(key: &str) -> String {
    format!("duplicate key `{key}` in an object; each key once (a JSON reader would keep only the last)")
}

/// The golden's top-level object: version keys, each with its events.
struct TopSeed<'c>(&'c Ctx<'c>);

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Golden;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Golden, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Golden;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a golden: a JSON object {\"all\": [events…]} or {\"v2\": […], \"v3,v4\": […]}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Golden, A::Error> {
        let ctx = self.0;
        let mut keys: Vec<(String, Vec<GicVersion>)> = Vec::new();
        let mut entries = Vec::new();
        while let Some((at, key)) = map.next_key_seed(KeySeed(ctx))? {
            if keys.iter().any(|(k, _)| *k == key) {
                return Err(ctx.fail(at, duplicate(&key)));
            }
            let versions = if key == "all" {
                Vec::new()
            } else {
                key.split(',')
                    .map(|s| {
                        GicVersion::from_name(s.trim()).ok_or_else(|| {
                            ctx.fail(
                                at,
                                format!(
                                    "key `{key}`: `{s}` is not v2, v3 or v4; a key is `all` or versions like `v3,v4`"
                                ),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?
            };
            for (i, v) in versions.iter().enumerate() {
                if versions[..i].contains(v) {
                    return Err(ctx.fail(at, format!("key `{key}` names {} twice; each version once", v.name())));
                }
                if let Some((k, _)) = keys.iter().find(|(_, vs)| vs.contains(v)) {
                    return Err(ctx.fail(
                        at,
                        format!(
                            "key `{key}` names {}, as key `{k}` does; each version in one key (else the key order decides which events apply)",
                            v.name()
                        ),
                    ));
                }
            }
            let events = map.next_value_seed(EventsSeed { ctx, key: &key })?;
            keys.push((key, versions.clone()));
            entries.push((versions, events));
        }
        Ok(Golden { entries })
    }
}

/// An object key, with the offset of its opening quote.
struct KeySeed<'c>(&'c Ctx<'c>);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = (usize, String);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(usize, String), D::Error> {
        let at = self.0.here();
        <String as serde::Deserialize>::deserialize(d).map(|k| (at, k))
    }
}

/// The event list of one key.
struct EventsSeed<'c> {
    ctx: &'c Ctx<'c>,
    key: &'c str,
}

impl<'de> DeserializeSeed<'de> for EventsSeed<'_> {
    type Value = Vec<Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Value>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EventsSeed<'_> {
    type Value = Vec<Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a list of events for key `{}`", self.key)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
        let mut events = Vec::new();
        while let Some(e) = seq.next_element_seed(EventSeed { ctx: self.ctx, key: self.key })? {
            events.push(e);
        }
        Ok(events)
    }
}

/// One event: an object with a positive `step` (one of the case's, when known).
struct EventSeed<'c> {
    ctx: &'c Ctx<'c>,
    key: &'c str,
}

impl<'de> DeserializeSeed<'de> for EventSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EventSeed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an event of key `{}`: an object with a `step`", self.key)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        let (ctx, key) = (self.ctx, self.key);
        let at = ctx.here();
        let event = Value::Object(object(ctx, 0, map)?);
        let what = "a step is a positive integer, the statement's number";
        let step = match event.get("step") {
            None => return Err(ctx.fail(at, format!("key `{key}`: event {event} has no `step`; every event is an object with a `step`, the statement's number"))),
            Some(s) => s.as_u64().filter(|n| *n >= 1).ok_or_else(|| ctx.fail(at, format!("key `{key}`: event {event} has `step` {s}; {what}")))?,
        };
        if let Some((case, steps)) = ctx.case {
            if !u16::try_from(step).is_ok_and(|s| steps.contains(&s)) {
                return Err(ctx.fail(
                    at,
                    format!(
                        "key `{key}`: event {event} names step {step}, which {case} does not have; {}",
                        describe_steps(steps)
                    ),
                ));
            }
        }
        Ok(event)
    }
}

/// The entries of an object, each key once.
/// `depth` is 0 for an event's own fields.
fn object<'de, A: MapAccess<'de>>(ctx: &Ctx, depth: usize, mut map: A) -> Result<Map<String, Value>, A::Error> {
    let mut obj = Map::new();
    while let Some((at, key)) = map.next_key_seed(KeySeed(ctx))? {
        if obj.contains_key(&key) {
            return Err(ctx.fail(at, duplicate(&key)));
        }
        let v = map.next_value_seed(AnySeed(ctx, depth))?;
        obj.insert(key, v);
    }
    Ok(obj)
}

/// Any JSON value inside an event, objects without repeated keys; the
/// depth is 0 for an event's own field values, which alone may be
/// expressions (`"=…"`, see [`crate::case::expr`]), checked here.
struct AnySeed<'c>(&'c Ctx<'c>, usize);

impl<'de> DeserializeSeed<'de> for AnySeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AnySeed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        if let Some(src) = crate::case::expr::source_of(&Value::String(v.to_owned())) {
            // serde_json has read the string and its closing quote; the expression starts
            // after the opening quote and `=` (exact for text without escapes).
            let open = self.0.here().saturating_sub(v.len() + 1);
            if self.1 > 0 {
                return Err(self.0.fail(
                    open,
                    format!("`{v}`: an expression (\"=…\") is a field's whole value, not inside a list or object"),
                ));
            }
            if let Err((at, msg)) = crate::case::expr::parse(src) {
                return Err(self.0.fail(open + 2 + at, format!("expression `{v}`: {msg}")));
            }
        }
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.visit_str(&v)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(AnySeed(self.0, self.1 + 1))? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        object(self.0, self.1 + 1, map).map(Value::Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_version_key_overrides_single_events_of_all() {
        let g = Golden::parse(
            r#"{"all":[{"step":1,"op":"a","x":1},{"step":2,"op":"b"},{"step":4,"op":"d"},{"step":4,"cpu":1,"op":"d"}],
                "v2":[{"step":1,"op":"a","x":2},{"step":3,"op":"c"},{"step":4,"op":"d","absent":true}]}"#,
        )
        .unwrap();
        let ops = |v| {
            g.for_version(v)
                .unwrap()
                .iter()
                .map(|e| {
                    format!("{}{}", e["op"].as_str().unwrap(), e.get("x").map_or(String::new(), |x| x.to_string()))
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(ops(GicVersion::V2), ["a2", "b", "c", "d"]);
        assert_eq!(g.for_version(GicVersion::V2).unwrap()[3]["cpu"], 1);
        assert_eq!(ops(GicVersion::V3), ["a1", "b", "d", "d"]);
        let only = Golden::parse(r#"{"v3":[{"step":1,"op":"a"}]}"#).unwrap();
        assert!(only.for_version(GicVersion::V2).is_none());
    }

    #[test]
    fn hex_numbers_and_expressions() {
        let g = Golden::parse(
            "{\"all\":[{\"step\":0x2,\"op\":\"0xa0\",\"Priority\":0xa0, \"LRs\":\"=range(0, num_lrs)\"}]}",
        )
        .unwrap();
        let e = &g.entries[0].1[0];
        assert_eq!((e["step"].as_u64(), e["op"].as_str(), e["Priority"].as_u64()), (Some(2), Some("0xa0"), Some(160)));
        assert!(g.has_expressions());
        let err = |t: &str| Golden::parse(t).unwrap_err();
        assert_eq!(
            err("{\"all\":[{\"step\":1,\n \"LRs\":\"=range(0, nlrs)\"}]}"),
            "2:19: expression `=range(0, nlrs)`: unknown name `nlrs`; names: num_lrs, pri_bits, pre_bits, bpr0_min, bpr1_min, idle_priority, ListRegs, PRIbits, PREbits, TDS, cpus, ArchRev, ITLinesNumber, SPIs, PPIs, ICC_PRIbits, No1N, SecurityExtn, has_ITS, has_UART, ITS_ID_bits, ITS_VMAPP"
        );
        assert!(err("{\"all\":[{\"step\":1,\"x\":[\"=apr()\"]}]}").starts_with("1:24: `=apr()`: an expression"));
        assert_eq!(err("{\"all\":[{\"step\":1,\"x\":0xfg}]}"), "1:23: `0xfg` is not a hexadecimal number");
        assert!(err("{\"all\":[{\"step\":1,\"x\":0x1234567890}]}")
            .starts_with("1:23: `0x1234567890`: bare hexadecimal numbers have at most 9 digits"));
        // Positions after a rewritten number stay those of the text.
        assert!(err("{\"all\":[{\"step\":1,\"x\":0xa0,\"x\":1}]}").starts_with("1:28: duplicate key `x`"));
        assert_eq!(err("{\"all\":[{\"step\":0x1 ,]}"), "1:22: key must be a string");
    }

    #[test]
    fn rejects_bad_keys_and_events() {
        assert!(Golden::parse(r#"{"v5":[]}"#).unwrap_err().contains("`v5` is not"));
        assert!(Golden::parse(r#"{"all":[{"op":"x"}]}"#).unwrap_err().contains("with a `step`"));
        assert!(Golden::parse("{\n  \"all\": [,]\n}").unwrap_err().starts_with("2:"));
    }

    #[test]
    fn rejects_repeated_keys_at_any_depth_where_they_are() {
        let e = |t: &str| Golden::parse(t).unwrap_err();
        assert_eq!(
            e("{\"all\":[],\n \"all\":[]}"),
            "2:2: duplicate key `all` in an object; each key once (a JSON reader would keep only the last)"
        );
        assert!(e(r#"{"all":[{"step":1,"INTID":3,"INTID":4}]}"#).starts_with("1:29: duplicate key `INTID`"));
        assert!(e(r#"{"all":[{"step":1,"LRs":[{"a":1},{"a":1,"\u0061":2}]}]}"#).starts_with("1:41: duplicate key `a`"));
        assert!(e(r#"{"v2":[],"v3":[],"v2":[]}"#).starts_with("1:18: duplicate key `v2`"));
    }

    #[test]
    fn rejects_versions_named_by_two_keys() {
        let e = |t: &str| Golden::parse(t).unwrap_err();
        assert_eq!(
            e(r#"{"v3":[],"v3,v4":[]}"#),
            "1:10: key `v3,v4` names v3, as key `v3` does; each version in one key (else the key order decides which events apply)"
        );
        assert!(e(r#"{"v4, v3":[],"all":[],"v3":[]}"#).starts_with("1:23: key `v3` names v3, as key `v4, v3` does"));
        assert_eq!(e(r#"{"v2,v2":[]}"#), "1:2: key `v2,v2` names v2 twice; each version once");
        assert!(Golden::parse(r#"{"all":[],"v2":[],"v3,v4":[]}"#).is_ok());
    }

    #[test]
    fn steps_are_positive_integers_and_the_cases_when_given() {
        let e = |t: &str| Golden::parse(t).unwrap_err();
        for bad in ["0", "-1", "1.5", "1.0", "\"2\"", "null", "[1]"] {
            let t = format!("{{\"v2\":[\n  {{\"step\":{bad}}}]}}");
            assert_eq!(
                e(&t),
                format!("2:3: key `v2`: event {{\"step\":{bad}}} has `step` {bad}; a step is a positive integer, the statement's number")
            );
        }
        assert!(e(r#"{"all":[3]}"#).starts_with("1:10: invalid type: integer `3`, expected an event of key `all`"));
        assert!(e(r#"{"all":{}}"#).starts_with("1:8: invalid type: map, expected a list of events for key `all`"));
        assert!(e("[]").starts_with("1:1: invalid type: sequence, expected a golden"));
        let t = "{\"all\":[{\"step\":1},\n{\"step\":7,\"op\":\"x\"}]}";
        assert!(Golden::parse(t).is_ok());
        assert_eq!(
            Golden::parse_for_case(t, "lr/x", &[1, 2, 3, 5]).unwrap_err(),
            "2:1: key `all`: event {\"step\":7,\"op\":\"x\"} names step 7, which lr/x does not have; its steps are 1-3, 5"
        );
        assert!(Golden::parse_for_case(t, "lr/x", &[1, 7]).is_ok());
        assert_eq!(describe_steps(&[]), "it has no steps");
        assert_eq!(describe_steps(&[4, 1, 2, 2, 9, 8]), "its steps are 1-2, 4, 8-9");
    }

    #[test]
    fn skips_a_byte_order_mark() {
        let g = Golden::parse("\u{feff}{\"all\":[{\"step\":1}]}").unwrap();
        assert_eq!(g.entries.len(), 1);
        assert!(Golden::parse("\u{feff}{\"all\":[{}]}").unwrap_err().starts_with("1:9: "));
    }

    #[test]
    fn from_runs_groups_identical_versions_and_round_trips() {
        let a = vec![json!({"step":1,"op":"guest ack","INTID":27})];
        let b = vec![json!({"step":1,"op":"guest ack","INTID":1023})];
        let mut runs = BTreeMap::new();
        runs.insert(GicVersion::V2, b.clone());
        runs.insert(GicVersion::V3, a.clone());
        runs.insert(GicVersion::V4, a.clone());
        let g = Golden::from_runs(&GicVersion::ALL, &runs);
        let text = g.render();
        assert_eq!(
            text,
            "{\n  \"v2\": [\n    {\"step\":1,\"op\":\"guest ack\",\"INTID\":1023}\n  ],\n  \"v3,v4\": [\n    {\"step\":1,\"op\":\"guest ack\",\"INTID\":27}\n  ]\n}\n"
        );
        assert_eq!(Golden::parse(&text).unwrap(), g);
        let mut same = BTreeMap::new();
        same.insert(GicVersion::V3, a.clone());
        same.insert(GicVersion::V4, a);
        assert!(Golden::from_runs(&[GicVersion::V3, GicVersion::V4], &same).render().contains("\"all\""));
    }
}
