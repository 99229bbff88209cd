//! A one-shot alarm on SysTick for async runners: [`Alarm::wake_at`] wakes a
//! [`Waker`] at an [`Instant`] of [`clock`], from the SysTick interrupt.
//!
//! An executor that sleeps (WFI/WFE) while idle needs an interrupt at the stack's next
//! deadline; this is it. [`Board::split`](crate::Board::split) hands SysTick over to the
//! alarm, so a firmware uses either [`Board::sleep_until`](crate::Board::sleep_until) (a
//! superloop) or an [`Alarm`] (an executor), never both.

use core::cell::RefCell;
use core::task::Waker;

use cortex_m::interrupt::Mutex;
use cortex_m::peripheral::SYST;
use stack_runtime::Instant;

use crate::{CORE_HZ, SYST_MAX_RELOAD, clock};

/// Tasks that may wait on the alarm at once (the stack's runner and a few application tasks).
pub const ALARM_SLOTS: usize = 4;

/// SysTick and what it waits for, shared with the SysTick handler.
struct State {
    syst: SYST,
    /// Deadlines and the tasks to wake then.
    pending: [Option<(Instant, Waker)>; ALARM_SLOTS],
}

/// `None` until [`Board::split`](crate::Board::split).
static STATE: Mutex<RefCell<Option<State>>> = Mutex::new(RefCell::new(None));

/// Handle to the SysTick alarm (see the [module documentation](self)).
#[derive(Debug)]
pub struct Alarm {
    _private: (),
}

impl Alarm {
    /// Takes SysTick over (its interrupt was enabled, clocked by the core, by `Board::init`).
    pub(crate) fn new(syst: SYST) -> Alarm {
        cortex_m::interrupt::free(|cs| {
            *STATE.borrow(cs).borrow_mut() = Some(State {
                syst,
                pending: [const { None }; ALARM_SLOTS],
            });
        });
        Alarm { _private: () }
    }

    /// Wakes `waker` at (or soon after) `at`; at once if `at` has passed. A task has one
    /// deadline: a second call with the same task's waker replaces the first. Up to
    /// [`ALARM_SLOTS`] tasks wait at once; beyond that, `waker` is woken at once (the task
    /// polls again rather than hanging).
    pub fn wake_at(&self, at: Instant, waker: &Waker) {
        cortex_m::interrupt::free(|cs| {
            let mut state = STATE.borrow(cs).borrow_mut();
            let Some(state) = state.as_mut() else {
                waker.wake_by_ref();
                return;
            };
            let slot = match state
                .pending
                .iter()
                .position(|p| p.as_ref().is_some_and(|(_, w)| w.will_wake(waker)))
            {
                Some(i) => Some(i),
                None => state.pending.iter().position(Option::is_none),
            };
            match slot {
                Some(i) => state.pending[i] = Some((at, waker.clone())),
                None => waker.wake_by_ref(),
            }
            arm(state);
        });
    }
}

/// Wakes the tasks whose deadline has passed and programs SysTick to interrupt at the earliest
/// remaining one (or after [`MAX_SLEEP`](crate::MAX_SLEEP), and then again); stops it when
/// nothing waits. Interrupts are masked.
fn arm(state: &mut State) {
    state.syst.disable_counter();
    let now = clock::now();
    let mut earliest: Option<Instant> = None;
    for p in state.pending.iter_mut() {
        match p {
            Some((at, _)) if *at <= now => {
                if let Some((_, waker)) = p.take() {
                    waker.wake();
                }
            }
            Some((at, _)) => earliest = Some(earliest.map_or(*at, |e| e.min(*at))),
            None => {}
        }
    }
    let Some(at) = earliest else {
        return;
    };
    // Never sleep past a counter wrap of the clock.
    let micros = at
        .saturating_duration_since(now)
        .total_micros()
        .min(crate::MAX_SLEEP.total_micros());
    let ticks = (micros * u64::from(CORE_HZ / 1_000_000)).clamp(1, SYST_MAX_RELOAD);
    state.syst.set_reload(ticks as u32);
    state.syst.clear_current();
    state.syst.enable_counter();
}

/// From the SysTick handler: wake the tasks whose deadline came, re-arm for the rest.
#[cfg_attr(
    not(target_os = "none"),
    expect(dead_code, reason = "the handler is target-only")
)]
pub(crate) fn on_systick() {
    cortex_m::interrupt::free(|cs| {
        if let Some(state) = STATE.borrow(cs).borrow_mut().as_mut() {
            arm(state);
        }
    });
}
