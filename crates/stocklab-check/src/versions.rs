//! Versions: every committed change adds exactly one, so the versions the acknowledged changes
//! report find lost updates directly.
//!
//! - Two acknowledged changes that report the same version: one overwrote the other
//!   (`lost_update`). This is the signature of a read-modify-write that also writes the version
//!   it computed.
//! - A change whose result does not follow from the state of the version before the one it made
//!   wrote over the change that made that version (`lost_update`, see `overwrites`). This is the
//!   signature of a read-modify-write whose statement bumps the version itself, so that the
//!   versions stay unique.
//! - A version between the start and the highest reported one that no acknowledged change reports
//!   must have come from an unknown change invoked before the change that reports the next version
//!   completed; when there are not enough of those, the history has changes it does not show
//!   (`version_gap`).
//! - The final version must lie between the start version plus the acknowledged changes and that
//!   plus the unknown ones: below, changes were lost (beyond the lost updates already reported,
//!   each counted as one lost change, so that one loss is not reported twice); above, something
//!   the history does not show changed the product.

use crate::by_product::{ProductHistory, Seen, Step};
use crate::overwrites;
use crate::report::{Anomaly, AnomalyKind, count};

pub(crate) fn check(history: &ProductHistory, anomalies: &mut Vec<Anomaly>) {
    let product = history.product();
    let start_version = history.start.version;
    let mut acknowledged: Vec<(i64, &Step)> = history
        .steps
        .iter()
        .filter(|step| step.is_change())
        .filter_map(|step| step.state().map(|state| (state.version, step)))
        .collect();
    acknowledged.sort_by_key(|&(version, step)| (version, step.op.id));
    let unknown_invokes: Vec<u64> = {
        let mut invokes: Vec<u64> = history
            .steps
            .iter()
            .filter(|step| step.is_change() && step.seen == Seen::Unknown)
            .map(|step| step.op.invoke_us)
            .collect();
        invokes.sort_unstable();
        invokes
    };

    let mut lost_by_duplicates = 0;
    for group in acknowledged.chunk_by(|a, b| a.0 == b.0) {
        let version = group[0].0;
        if version <= start_version {
            let step = group[0].1;
            anomalies.push(
                Anomaly::new(
                    AnomalyKind::VersionGap,
                    product,
                    format!(
                        "operation {} reports version {version}, but the start was already at \
                         version {start_version}",
                        step.op.id
                    ),
                )
                .step(step)
                .value("version", version)
                .value("start_version", start_version),
            );
        }
        if group.len() > 1 {
            lost_by_duplicates += group.len() - 1;
            anomalies.push(duplicate_version(product, version, group));
        }
    }

    let overwrites = overwrites::check(history);
    let lost_by_overwrites = overwrites.len();
    anomalies.extend(overwrites);

    if let Some(gap) = unexplained_gap(start_version, &acknowledged, &unknown_invokes) {
        anomalies.push(gap.anomaly(product, start_version));
    }

    if let Some(end) = history.end {
        let reported_lost = lost_by_duplicates + lost_by_overwrites;
        let least = start_version + count(acknowledged.len().saturating_sub(reported_lost));
        let most = start_version + count(acknowledged.len() + unknown_invokes.len());
        let message = if end.version < least {
            let less_lost = match reported_lost {
                0 => String::new(),
                n => format!(", less {n} already reported lost,"),
            };
            Some((
                AnomalyKind::LostUpdate,
                format!(
                    "final version {}, but the {} acknowledged changes from version \
                     {start_version}{less_lost} reach at least {least}",
                    end.version,
                    acknowledged.len()
                ),
            ))
        } else if end.version > most {
            Some((
                AnomalyKind::VersionGap,
                format!(
                    "final version {}, but the {} acknowledged and {} unknown changes from \
                     version {start_version} reach at most {most}",
                    end.version,
                    acknowledged.len(),
                    unknown_invokes.len()
                ),
            ))
        } else {
            None
        };
        if let Some((kind, message)) = message {
            let mut anomaly = Anomaly::new(kind, product, message)
                .value("final_version", end.version)
                .value("start_version", start_version)
                .value("acknowledged_changes", count(acknowledged.len()))
                .value("unknown_changes", count(unknown_invokes.len()));
            if kind == AnomalyKind::LostUpdate {
                anomaly = anomaly.value("lost_updates_reported", count(reported_lost));
            }
            anomalies.push(anomaly);
        }
    }
}

fn duplicate_version(product: i64, version: i64, group: &[(i64, &Step)]) -> Anomaly {
    let ids: Vec<String> = group.iter().map(|(_, s)| s.op.id.to_string()).collect();
    let stocks: Vec<String> = group
        .iter()
        .filter_map(|(_, s)| s.state().map(|state| state.stock.to_string()))
        .collect();
    let mut anomaly = Anomaly::new(
        AnomalyKind::LostUpdate,
        product,
        format!(
            "operations {} all report version {version} (stock {}): each overwrote the other's \
             change",
            ids.join(", "),
            stocks.join(", ")
        ),
    )
    .value("version", version)
    .value("changes", count(group.len()));
    for (_, step) in group {
        anomaly = anomaly.step(step);
    }
    anomaly
}

/// Versions missing between two reported ones, with the change that reports the upper one.
struct Gap<'a, 'h> {
    /// The last version before the gap, and the change that reports it (`None`: the start).
    below: (i64, Option<&'a Step<'h>>),
    above: (i64, &'a Step<'h>),
    /// How many unknown changes were invoked early enough to fill a gap up to this one.
    unknown_in_time: usize,
}

impl Gap<'_, '_> {
    fn anomaly(&self, product: i64, start_version: i64) -> Anomaly {
        let (low, low_step) = self.below;
        let (high, high_step) = self.above;
        let low_name = match low_step {
            Some(step) => format!("operation {}", step.op.id),
            None => format!("the start (version {start_version})"),
        };
        let mut anomaly = Anomaly::new(
            AnomalyKind::VersionGap,
            product,
            format!(
                "no acknowledged change reports versions {} to {} (between {low_name} at version \
                 {low} and operation {} at version {high}), and too few unknown changes ({}) were \
                 invoked before operation {} completed to account for them and the earlier gaps",
                low + 1,
                high - 1,
                high_step.op.id,
                self.unknown_in_time,
                high_step.op.id
            ),
        )
        .value("missing_from", low + 1)
        .value("missing_to", high - 1)
        .value("unknown_changes_in_time", count(self.unknown_in_time));
        if let Some(step) = low_step {
            anomaly = anomaly.step(step);
        }
        anomaly.step(high_step)
    }
}

/// The first gap that the unknown changes cannot fill, if any.
///
/// A missing version below the one an acknowledged change reports must have been made before that
/// change took effect, so by an unknown change invoked before that change completed (its
/// deadline). Each unknown change fills at most one version, and a change that is early enough for
/// one deadline is early enough for every later one, so the versions can all be filled exactly when,
/// taking the missing versions by deadline, the k-th one has at least k unknown changes invoked
/// before its deadline.
fn unexplained_gap<'a, 'h>(
    start_version: i64,
    acknowledged: &'a [(i64, &'a Step<'h>)],
    unknown_invokes: &[u64],
) -> Option<Gap<'a, 'h>> {
    let mut gaps: Vec<(u64, i64, Gap)> = Vec::new();
    let mut below = (start_version, None);
    for group in acknowledged.chunk_by(|a, b| a.0 == b.0) {
        let (version, _) = group[0];
        if version <= start_version {
            continue;
        }
        let missing = version - below.0 - 1;
        // With several changes at one version (already a lost update) the latest deadline is the
        // most lenient.
        let above = group.iter().max_by_key(|(_, step)| step.op.complete_us);
        if let Some(&(_, step)) = above
            && missing > 0
        {
            gaps.push((
                step.op.complete_us,
                missing,
                Gap {
                    below,
                    above: (version, step),
                    unknown_in_time: 0,
                },
            ));
        }
        below = (version, group.last().map(|&(_, step)| step));
    }
    gaps.sort_by_key(|(deadline, _, _)| *deadline);
    let mut needed: i64 = 0;
    for (deadline, missing, mut gap) in gaps {
        needed += missing;
        let in_time = unknown_invokes.partition_point(|&invoke| invoke <= deadline);
        if count(in_time) < needed {
            gap.unknown_in_time = in_time;
            return Some(gap);
        }
    }
    None
}
