//! How workflows are stored in the actor's keyspace: one record per workflow
//! (`wf/<id>`: its name, status, input and output) and one per history entry
//! (`wh/<id>\0<seq>`: where it is in the code, its status, attempts and result). Both
//! start with the same header: a format byte, then the Unix ms at which the record needs
//! the actor awake (0: never), big-endian, then the length of a JSON description. The
//! alarm index reads the due time from the header alone (`Live::cover`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::driver::keys;
use crate::error::ActorError;
use crate::payload::Encoding;

use super::{EntryKind, EntryStatus, WorkflowState};

const FORMAT: u8 = 1;
const HEADER: usize = 1 + 8 + 4;

/// The key of workflow `id`'s record.
pub(crate) fn workflow_key(id: &str) -> Vec<u8> {
    [keys::WORKFLOWS, id.as_bytes()].concat()
}

/// The id in a workflow record's key.
pub(crate) fn workflow_id(key: &[u8]) -> Option<&str> {
    std::str::from_utf8(key.strip_prefix(keys::WORKFLOWS)?).ok()
}

/// The prefix of workflow `id`'s history entries. An id holds no NUL (`check_id`), so no
/// workflow's prefix is a prefix of another's.
pub(crate) fn history_prefix(id: &str) -> Vec<u8> {
    [keys::WORKFLOW_HISTORY, id.as_bytes(), b"\0"].concat()
}

/// The key of entry `seq` of workflow `id`'s history.
pub(crate) fn entry_key(id: &str, seq: u32) -> Vec<u8> {
    let mut key = history_prefix(id);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The sequence number in an entry's key.
pub(crate) fn entry_seq(key: &[u8]) -> Option<u32> {
    let tail = key.len().checked_sub(4).map(|at| &key[at..])?;
    Some(u32::from_be_bytes(tail.try_into().ok()?))
}

/// The longest workflow id, in bytes.
pub(crate) const MAX_ID: usize = 128;

/// `workflow/invalid` unless `id` is 1 to 128 bytes without control characters.
pub(crate) fn check_id(id: &str) -> Result<(), ActorError> {
    if id.is_empty() || id.len() > MAX_ID || id.chars().any(char::is_control) {
        return Err(ActorError::workflow_invalid(format_args!(
            "a workflow id is 1 to {MAX_ID} bytes without control characters; {id:?} is not"
        )));
    }
    Ok(())
}

/// The due time in a workflow or entry record's header, if it has one.
pub(crate) fn due_in(value: &[u8]) -> Option<u64> {
    let header = value.get(..HEADER)?;
    if header[0] != FORMAT {
        return None;
    }
    let due = u64::from_be_bytes(header[1..9].try_into().ok()?);
    (due != 0).then_some(due)
}

fn frame(due: Option<u64>, meta: &impl Serialize, tail: &[&[u8]]) -> Arc<[u8]> {
    let meta = serde_json::to_vec(meta).expect("a workflow record's description serializes");
    let len = u32::try_from(meta.len()).expect("a description under 4 GiB");
    let mut out =
        Vec::with_capacity(HEADER + meta.len() + tail.iter().map(|t| t.len()).sum::<usize>());
    out.push(FORMAT);
    out.extend_from_slice(&due.unwrap_or(0).to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&meta);
    for part in tail {
        out.extend_from_slice(part);
    }
    out.into()
}

fn unframe<M: for<'de> Deserialize<'de>>(value: &[u8]) -> Option<(M, &[u8])> {
    let header = value.get(..HEADER)?;
    if header[0] != FORMAT {
        return None;
    }
    let len = u32::from_be_bytes(header[9..13].try_into().ok()?) as usize;
    let meta = value.get(HEADER..HEADER + len)?;
    let meta = serde_json::from_slice(meta).ok()?;
    Some((meta, &value[HEADER + len..]))
}

/// One segment of an entry's location: a name, or a loop's iteration.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Seg {
    Name(String),
    Iter(u64),
}

/// A location as people read it: names joined by `/`, an iteration after its loop's name
/// (`poll[3]/check`).
pub(crate) fn display(location: &[Seg]) -> String {
    let mut out = String::new();
    for seg in location {
        match seg {
            Seg::Name(name) => {
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(name);
            }
            Seg::Iter(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A workflow's record, without its input and output.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct WorkflowMeta {
    pub(crate) name: String,
    pub(crate) state: WorkflowState,
    pub(crate) created_ms: u64,
    pub(crate) updated_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) finished_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<ActorError>,
    /// How often `retry` resumed it: an entry that failed before the last retry runs
    /// again.
    #[serde(default)]
    pub(crate) retried: u32,
    pub(crate) input_encoding: Encoding,
    pub(crate) input_len: u32,
}

/// A workflow's record: its description, its input and (once completed) its output, as
/// JSON.
#[derive(Clone, Debug)]
pub(crate) struct StoredWorkflow {
    pub(crate) meta: WorkflowMeta,
    pub(crate) input: Vec<u8>,
    pub(crate) output: Vec<u8>,
}

impl StoredWorkflow {
    /// The record's bytes: a running workflow is due at `updated_ms`, so a registry that
    /// starts after a crash wakes the actor to resume it.
    pub(crate) fn encode(&self) -> Arc<[u8]> {
        let due =
            (self.meta.state == WorkflowState::Running).then_some(self.meta.updated_ms.max(1));
        frame(due, &self.meta, &[&self.input, &self.output])
    }

    pub(crate) fn decode(value: &[u8]) -> Option<Self> {
        let (meta, tail): (WorkflowMeta, _) = unframe(value)?;
        let input = tail.get(..meta.input_len as usize)?.to_vec();
        let output = tail[meta.input_len as usize..].to_vec();
        Some(Self {
            meta,
            input,
            output,
        })
    }
}

/// A history entry, without its result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct EntryMeta {
    /// Where it is in the code: its scope's location, then its name.
    pub(crate) loc: Vec<Seg>,
    pub(crate) kind: EntryKind,
    pub(crate) status: EntryStatus,
    #[serde(default)]
    pub(crate) attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<ActorError>,
    pub(crate) started_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) finished_ms: Option<u64>,
    /// A sleep's end, a message wait's timeout, a retry's next attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) deadline_ms: Option<u64>,
    /// The workflow's `retried` when the entry failed (see [`WorkflowMeta::retried`]).
    #[serde(default)]
    pub(crate) epoch: u32,
}

/// A history entry and its result (JSON; empty until it has one).
#[derive(Clone, Debug)]
pub(crate) struct StoredEntry {
    pub(crate) meta: EntryMeta,
    pub(crate) output: Vec<u8>,
}

impl StoredEntry {
    /// The entry's bytes: one that waits (a sleep, a retry's backoff, a message wait with
    /// a timeout) is due at its deadline.
    pub(crate) fn encode(&self) -> Arc<[u8]> {
        let due = match self.meta.status {
            EntryStatus::Waiting => self.meta.deadline_ms,
            _ => None,
        };
        frame(due, &self.meta, &[&self.output])
    }

    pub(crate) fn decode(value: &[u8]) -> Option<Self> {
        let (meta, tail) = unframe(value)?;
        Some(Self {
            meta,
            output: tail.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_one_workflow_never_fall_under_another() {
        assert!(!entry_key("a\u{1}", 0).starts_with(&history_prefix("a")));
        assert!(entry_key("a", 7).starts_with(&history_prefix("a")));
        assert_eq!(entry_seq(&entry_key("task-1", 258)), Some(258));
        assert_eq!(workflow_id(&workflow_key("task/1")), Some("task/1"));
        assert!(check_id("").is_err() && check_id("a\0b").is_err() && check_id("ok/x").is_ok());
    }

    #[test]
    fn records_round_trip_and_carry_their_due_time() {
        let entry = StoredEntry {
            meta: EntryMeta {
                loc: vec![
                    Seg::Name("poll".into()),
                    Seg::Iter(3),
                    Seg::Name("wait".into()),
                ],
                kind: EntryKind::Sleep,
                status: EntryStatus::Waiting,
                attempts: 0,
                error: None,
                started_ms: 10,
                finished_ms: None,
                deadline_ms: Some(5_000),
                epoch: 0,
            },
            output: b"null".to_vec(),
        };
        let bytes = entry.encode();
        assert_eq!(due_in(&bytes), Some(5_000));
        let back = StoredEntry::decode(&bytes).unwrap();
        assert_eq!(back.meta.loc, entry.meta.loc);
        assert_eq!(back.output, b"null");
        assert_eq!(display(&back.meta.loc), "poll[3]/wait");
        let workflow = StoredWorkflow {
            meta: WorkflowMeta {
                name: "provision".into(),
                state: WorkflowState::Completed,
                created_ms: 1,
                updated_ms: 2,
                finished_ms: Some(2),
                error: None,
                retried: 0,
                input_encoding: Encoding::Json,
                input_len: 4,
            },
            input: b"\"in\"".to_vec(),
            output: b"5".to_vec(),
        };
        let bytes = workflow.encode();
        assert_eq!(due_in(&bytes), None);
        let back = StoredWorkflow::decode(&bytes).unwrap();
        assert_eq!(
            (back.input.as_slice(), back.output.as_slice()),
            (&b"\"in\""[..], &b"5"[..])
        );
    }
}
