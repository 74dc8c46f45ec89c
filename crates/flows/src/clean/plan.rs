//! From a report's findings to what happens to each sample: kept, removed (with reason and
//! group) or relabelled. Pure and deterministic: no I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use dlscope_analyze::findings::{Finding, FindingKind};
use dlscope_data::Dataset;
use serde::{Deserialize, Serialize};

use super::CleanError;

/// Which copy of a train/test leak goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeakSide {
    /// Remove the train copies (the evaluation split stays as it was). Default.
    #[default]
    Train,
    /// Remove the non-train sample the leak is reported on.
    Test,
}

/// What to act on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    /// Finding kinds whose samples are removed. For `exact_duplicate` and `near_duplicate` one
    /// representative of each group is kept; for `leak` the side chosen by `leak_side` goes.
    pub drop: BTreeSet<FindingKind>,
    /// Finding kinds whose samples get their suggested label instead (`label_issue`).
    pub relabel: BTreeSet<FindingKind>,
    pub leak_side: LeakSide,
}

/// One removed sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    pub split: String,
    pub index: u64,
    pub id: String,
    pub reason: FindingKind,
    pub group: Option<u64>,
    /// For a duplicate reason: the id of the group's member kept instead (its
    /// [`representative`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representative: Option<String>,
}

/// One relabelled sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relabelled {
    pub split: String,
    pub index: u64,
    pub from: Option<u32>,
    pub to: u32,
}

/// The decision for every sample.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Per split (dataset order): kept indices, ascending.
    pub kept: Vec<(String, Vec<usize>)>,
    /// Sorted by split order, then index.
    pub removed: Vec<Removed>,
    pub relabelled: Vec<Relabelled>,
}

impl Plan {
    /// Keeps every sample of `ds` (for filling labels without a report).
    pub fn keep_all(ds: &Dataset) -> Plan {
        Plan {
            kept: ds
                .splits
                .iter()
                .map(|s| (s.name().to_string(), (0..s.len()).collect()))
                .collect(),
            removed: Vec::new(),
            relabelled: Vec::new(),
        }
    }

    pub fn kept_count(&self) -> usize {
        self.kept.iter().map(|(_, v)| v.len()).sum()
    }
}

/// Order in which a sample's reason is chosen when several apply.
const REASON_ORDER: [FindingKind; 5] = [
    FindingKind::Unreadable,
    FindingKind::Leak,
    FindingKind::ExactDuplicate,
    FindingKind::NearDuplicate,
    FindingKind::LabelIssue,
];

fn rank(k: FindingKind) -> usize {
    REASON_ORDER
        .iter()
        .position(|&r| r == k)
        .unwrap_or(REASON_ORDER.len() + k as usize)
}

type Drops = BTreeMap<(usize, u64), (FindingKind, Option<u64>)>;

/// Marks a sample removed; the earliest reason in [`REASON_ORDER`] wins.
fn mark(drop: &mut Drops, at: (usize, u64), kind: FindingKind, group: Option<u64>) {
    let e = drop.entry(at).or_insert((kind, group));
    if rank(kind) < rank(e.0) {
        *e = (kind, group);
    }
}

/// The member of a duplicate group that stays: the first in (split order, index) that nothing
/// else removes. `dlscope clean` and `dlscope reduce --dedup near` both keep this one.
pub fn representative<T: Copy + Ord>(
    members: &BTreeSet<T>,
    removed: impl Fn(&T) -> bool,
) -> Option<T> {
    members.iter().find(|m| !removed(m)).copied()
}

/// Decides, from `findings` (of a report made on `ds`), which samples to keep. Fails when a
/// finding names a split the dataset lacks or an index past its end (the report is of another
/// dataset), or when a kind is both dropped and relabelled.
pub fn plan(ds: &Dataset, findings: &[Finding], policy: &Policy) -> Result<Plan, CleanError> {
    if let Some(k) = policy.drop.intersection(&policy.relabel).next() {
        return Err(CleanError::Policy(format!(
            "'{k}' cannot be both dropped and relabelled"
        )));
    }
    let order: HashMap<&str, usize> = ds
        .splits
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name(), i))
        .collect();
    let train = order.get("train").copied();
    let pos = |split: &str, index: u64| -> Result<(usize, u64), CleanError> {
        let s = *order.get(split).ok_or_else(|| CleanError::Mismatch {
            why: format!("the report names split '{split}', which the dataset does not have"),
        })?;
        if index >= ds.splits[s].len() as u64 {
            return Err(CleanError::Mismatch {
                why: format!(
                    "the report names sample {index} of split '{split}', which has {} samples",
                    ds.splits[s].len()
                ),
            });
        }
        Ok((s, index))
    };

    // (split, index) -> (reason, group); the earliest reason in REASON_ORDER wins.
    let mut drop: Drops = BTreeMap::new();
    // (kind, group) -> the member kept for it.
    let mut reps: BTreeMap<(FindingKind, u64), (usize, u64)> = BTreeMap::new();

    // Leaks first, so duplicate groups keep a representative that survives them.
    if policy.drop.contains(&FindingKind::Leak) {
        let mut leak_groups: BTreeSet<u64> = BTreeSet::new();
        for f in findings.iter().filter(|f| f.kind == FindingKind::Leak) {
            match policy.leak_side {
                LeakSide::Test => mark(
                    &mut drop,
                    pos(&f.split, f.index)?,
                    FindingKind::Leak,
                    f.group,
                ),
                LeakSide::Train => {
                    if let Some(p) = &f.partner {
                        mark(
                            &mut drop,
                            pos(&p.split, p.index)?,
                            FindingKind::Leak,
                            f.group,
                        );
                    }
                    leak_groups.extend(f.group);
                }
            }
        }
        // Every train member of a leaking near-duplicate cluster goes too.
        for f in findings.iter().filter(|f| {
            f.kind == FindingKind::NearDuplicate
                && f.group.is_some_and(|g| leak_groups.contains(&g))
        }) {
            let at = pos(&f.split, f.index)?;
            if Some(at.0) == train {
                mark(&mut drop, at, FindingKind::Leak, f.group);
            }
        }
    }

    for kind in [FindingKind::ExactDuplicate, FindingKind::NearDuplicate] {
        if !policy.drop.contains(&kind) {
            continue;
        }
        let mut groups: BTreeMap<u64, BTreeSet<(usize, u64)>> = BTreeMap::new();
        for f in findings.iter().filter(|f| f.kind == kind) {
            let at = pos(&f.split, f.index)?;
            match f.group {
                Some(g) => {
                    groups.entry(g).or_default().insert(at);
                    if let Some(p) = &f.partner {
                        groups.entry(g).or_default().insert(pos(&p.split, p.index)?);
                    }
                }
                None => mark(&mut drop, at, kind, None),
            }
        }
        for (g, members) in groups {
            let keep = representative(&members, |m| drop.contains_key(m));
            if let Some(k) = keep {
                reps.insert((kind, g), k);
            }
            for m in members {
                if Some(m) != keep {
                    mark(&mut drop, m, kind, Some(g));
                }
            }
        }
    }

    for f in findings {
        let simple = !matches!(
            f.kind,
            FindingKind::Leak | FindingKind::ExactDuplicate | FindingKind::NearDuplicate
        );
        if simple && policy.drop.contains(&f.kind) {
            mark(&mut drop, pos(&f.split, f.index)?, f.kind, f.group);
        }
    }

    let mut relabelled = Vec::new();
    let mut seen = BTreeSet::new();
    for f in findings.iter().filter(|f| policy.relabel.contains(&f.kind)) {
        let at = pos(&f.split, f.index)?;
        let Some(to) = f.suggested_label else {
            return Err(CleanError::Policy(format!(
                "{} finding on {}/{} has no suggested label to relabel with",
                f.kind, f.split, f.index
            )));
        };
        if (to as usize) >= ds.classes.len() {
            return Err(CleanError::Mismatch {
                why: format!(
                    "suggested label {to} for {}/{} is outside the {} classes",
                    f.split,
                    f.index,
                    ds.classes.len()
                ),
            });
        }
        if drop.contains_key(&at) || !seen.insert(at) {
            continue;
        }
        let from = ds.splits[at.0].label(at.1 as usize);
        if from != Some(to) {
            relabelled.push(Relabelled {
                split: f.split.clone(),
                index: f.index,
                from,
                to,
            });
        }
    }
    relabelled.sort_by_key(|r| (order[r.split.as_str()], r.index));

    let kept = ds
        .splits
        .iter()
        .enumerate()
        .map(|(s, split)| {
            let idx = (0..split.len())
                .filter(|&i| !drop.contains_key(&(s, i as u64)))
                .collect();
            (split.name().to_string(), idx)
        })
        .collect();
    let removed = drop
        .into_iter()
        .map(|((s, index), (reason, group))| Removed {
            split: ds.splits[s].name().to_string(),
            index,
            id: ds.splits[s].id(index as usize).to_string(),
            reason,
            group,
            representative: group
                .and_then(|g| reps.get(&(reason, g)))
                .map(|&(rs, ri)| ds.splits[rs].id(ri as usize).to_string()),
        })
        .collect();
    Ok(Plan {
        kept,
        removed,
        relabelled,
    })
}
