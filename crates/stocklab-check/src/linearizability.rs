//! Linearizability, product by product: is there one order of the operations, each taking effect
//! at a moment between its invocation and its completion, that explains every result?
//!
//! The search is Wing and Gong's, with Lowe's memoisation (as in Knossos and Porcupine): walk the
//! invocations and completions in time order; at an invocation, try to let that operation take
//! effect now; at a completion of an operation not yet placed, undo the last choice. A pair
//! (operations placed, state) already explored is not explored again. The model is one product's
//! register of (stock, version), so an order is checked as its line for the product, with the
//! state its success reported for it. An operation with an unknown outcome has no completion: it
//! may take effect at any moment after its invocation, or never, so the search succeeds once every
//! acknowledged operation is placed.
//!
//! The search is exponential in the worst case, hence the time limit, after which the answer is
//! unknown rather than a guess.

use std::collections::HashSet;
use std::time::Instant;

use crate::by_product::{Action, ProductHistory, Seen, Step};
use crate::history::ProductState;
use crate::report::{Anomaly, AnomalyKind, LinearizabilityVerdict, count};

/// The clock is read once per this many search steps.
const STEPS_PER_CLOCK_READ: u32 = 256;

/// Searches one product's history until `deadline`; the anomaly explains a negative answer.
pub(crate) fn check(
    history: &ProductHistory,
    deadline: Instant,
) -> (LinearizabilityVerdict, Option<Anomaly>) {
    let search = Search::new(history);
    match search.run(deadline) {
        Outcome::Linearizable => (LinearizabilityVerdict::Linearizable, None),
        Outcome::Undecided => (LinearizabilityVerdict::Unknown, None),
        Outcome::NotLinearizable(stuck) => (
            LinearizabilityVerdict::NotLinearizable,
            Some(stuck.anomaly(history)),
        ),
    }
}

/// Register state: stock and version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct State {
    stock: i64,
    version: i64,
}

impl From<ProductState> for State {
    fn from(state: ProductState) -> State {
        State {
            stock: state.stock,
            version: state.version,
        }
    }
}

/// The state after `step` takes effect in `state`, or `None` if it cannot take effect there.
fn apply(step: &Step, state: State) -> Option<State> {
    let next = match step.action {
        Action::Adjust { delta } => State {
            stock: state.stock + delta,
            version: state.version + 1,
        },
        Action::StockTake {
            quantity,
            expected_version,
        } => {
            if expected_version.is_some_and(|expected| expected != state.version) {
                return refused(step, state);
            }
            State {
                stock: quantity,
                version: state.version + 1,
            }
        }
        Action::Read => state,
    };
    if next.stock < 0 {
        return refused(step, state);
    }
    match step.seen {
        Seen::Ok(reported) => (State::from(reported) == next).then_some(next),
        Seen::Unknown => Some(next),
    }
}

/// A refusal leaves the state as it was; an acknowledged operation was not refused.
fn refused(step: &Step, state: State) -> Option<State> {
    match step.seen {
        Seen::Ok(_) => None,
        Seen::Unknown => Some(state),
    }
}

/// One invocation or completion, in the doubly linked list the search walks.
#[derive(Debug, Clone, Copy)]
struct Event {
    step: usize,
    is_call: bool,
    /// For a call, the index of its completion event, if it has one.
    completion: Option<usize>,
}

enum Outcome {
    Linearizable,
    NotLinearizable(Stuck),
    /// The deadline passed first.
    Undecided,
}

/// The furthest the search got: how many operations it placed, the state they left, and the
/// acknowledged operation that could not take effect before it completed.
#[derive(Debug, Clone, Copy)]
struct Stuck {
    placed: usize,
    state: State,
    step: usize,
}

impl Stuck {
    fn anomaly(&self, history: &ProductHistory) -> Anomaly {
        let step = &history.steps[self.step];
        Anomaly::new(
            AnomalyKind::NonLinearizable,
            history.product(),
            format!(
                "no order of the operations explains the results: at best {} operations take \
                 effect in order, leaving stock {} at version {}, and then operation {} cannot \
                 take effect before it completes",
                self.placed, self.state.stock, self.state.version, step.op.id
            ),
        )
        .step(step)
        .value("operations_placed", count(self.placed))
        .value("stock_then", self.state.stock)
        .value("version_then", self.state.version)
    }
}

struct Search<'a, 'h> {
    steps: &'a [Step<'h>],
    start: State,
    events: Vec<Event>,
    /// Links of the event list; index `events.len()` is the head.
    next: Vec<Option<usize>>,
    prev: Vec<usize>,
}

impl<'a, 'h> Search<'a, 'h> {
    fn new(history: &'a ProductHistory<'h>) -> Search<'a, 'h> {
        let steps = history.steps.as_slice();
        // (time, completions after invocations at the same time, so that operations touching at
        // one microsecond count as concurrent, step, is_call)
        let mut times: Vec<(u64, bool, usize)> = Vec::with_capacity(steps.len() * 2);
        for (i, step) in steps.iter().enumerate() {
            times.push((step.op.invoke_us, false, i));
            if let Seen::Ok(_) = step.seen {
                times.push((step.op.complete_us, true, i));
            }
        }
        times.sort_unstable();
        let mut completion_of = vec![None; steps.len()];
        for (index, &(_, is_completion, step)) in times.iter().enumerate() {
            if is_completion {
                completion_of[step] = Some(index);
            }
        }
        let events: Vec<Event> = times
            .iter()
            .map(|&(_, is_completion, step)| Event {
                step,
                is_call: !is_completion,
                completion: if is_completion {
                    None
                } else {
                    completion_of[step]
                },
            })
            .collect();
        let head = events.len();
        let mut next: Vec<Option<usize>> = (1..=events.len()).map(Some).collect();
        if let Some(last) = next.last_mut() {
            *last = None;
        }
        next.push((!events.is_empty()).then_some(0));
        let mut prev: Vec<usize> = (0..events.len())
            .map(|i| i.checked_sub(1).unwrap_or(head))
            .collect();
        prev.push(head);
        Search {
            steps,
            start: State::from(history.start),
            events,
            next,
            prev,
        }
    }

    fn head(&self) -> usize {
        self.events.len()
    }

    /// Takes event `i` out of the list.
    fn unlink(&mut self, i: usize) {
        let (prev, next) = (self.prev[i], self.next[i]);
        self.next[prev] = next;
        if let Some(next) = next {
            self.prev[next] = prev;
        }
    }

    /// Puts event `i` back where it was; undoes `unlink` in reverse order.
    fn relink(&mut self, i: usize) {
        let (prev, next) = (self.prev[i], self.next[i]);
        self.next[prev] = Some(i);
        if let Some(next) = next {
            self.prev[next] = i;
        }
    }

    /// Places the operation of call event `call`: its call and completion leave the list.
    fn lift(&mut self, call: usize) {
        self.unlink(call);
        if let Some(completion) = self.events[call].completion {
            self.unlink(completion);
        }
    }

    fn unlift(&mut self, call: usize) {
        if let Some(completion) = self.events[call].completion {
            self.relink(completion);
        }
        self.relink(call);
    }

    fn run(mut self, deadline: Instant) -> Outcome {
        let mut unplaced_acknowledged = self
            .steps
            .iter()
            .filter(|step| matches!(step.seen, Seen::Ok(_)))
            .count();
        let mut placed = Placed::new(self.steps.len());
        let mut explored: HashSet<(Placed, State)> = HashSet::new();
        // The call events chosen so far, with the state before each.
        let mut chosen: Vec<(usize, State)> = Vec::new();
        let mut state = self.start;
        let mut stuck: Option<Stuck> = None;
        let mut entry = self.next[self.head()];
        let mut steps_taken: u32 = 0;
        loop {
            if unplaced_acknowledged == 0 {
                return Outcome::Linearizable;
            }
            if steps_taken.is_multiple_of(STEPS_PER_CLOCK_READ) && Instant::now() >= deadline {
                return Outcome::Undecided;
            }
            steps_taken = steps_taken.wrapping_add(1);
            match entry.map(|i| (i, self.events[i])) {
                Some((i, event)) if event.is_call => {
                    let step = &self.steps[event.step];
                    if let Some(after) = apply(step, state) {
                        let mut with = placed.clone();
                        with.insert(event.step);
                        if explored.insert((with.clone(), after)) {
                            chosen.push((i, state));
                            state = after;
                            placed = with;
                            self.lift(i);
                            if event.completion.is_some() {
                                unplaced_acknowledged -= 1;
                            }
                            entry = self.next[self.head()];
                            continue;
                        }
                    }
                    entry = self.next[i];
                }
                blocked => {
                    // A completion of an operation not yet placed (or the end of the list): the
                    // choices so far cannot be extended, so undo the last one.
                    if let Some((_, event)) = blocked
                        && stuck.is_none_or(|s| chosen.len() > s.placed)
                    {
                        stuck = Some(Stuck {
                            placed: chosen.len(),
                            state,
                            step: event.step,
                        });
                    }
                    let Some((call, before)) = chosen.pop() else {
                        return match stuck {
                            Some(stuck) => Outcome::NotLinearizable(stuck),
                            // Not reachable while an acknowledged operation is unplaced (its
                            // completion is in the list); if it were, claim nothing.
                            None => Outcome::Undecided,
                        };
                    };
                    let event = self.events[call];
                    self.unlift(call);
                    placed.remove(event.step);
                    if event.completion.is_some() {
                        unplaced_acknowledged += 1;
                    }
                    state = before;
                    entry = self.next[call];
                }
            }
        }
    }
}

/// The set of operations placed so far, as a bit set.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Placed(Vec<u64>);

impl Placed {
    fn new(len: usize) -> Placed {
        Placed(vec![0; len.div_ceil(64)])
    }

    fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn remove(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}
