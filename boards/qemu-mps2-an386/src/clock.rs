//! The board's monotonic clock: the LAN9118's free-running 25 MHz counter (`FREE_RUN`),
//! extended from 32 to 64 bits across wraps.
//!
//! The counter wraps every 2^32 / 25 MHz ≈ 171.8 s. [`now`] notices a wrap when a reading is
//! smaller than the previous one, so it must be called at least once per wrap period; the
//! board's [`sleep_until`](crate::Board::sleep_until) never sleeps longer than
//! [`MAX_SLEEP`](crate::MAX_SLEEP), and a main loop calls `now` after every sleep. Readings
//! and the extension state are updated together with interrupts masked, so an interrupt
//! handler may call [`now`] too.

use core::cell::Cell;

use cortex_m::interrupt::Mutex;
use stack_runtime::Instant;
use stack_runtime::time::WrapExtender;

use crate::lan9118::Regs;

/// Counter ticks per microsecond (the counter runs at 25 MHz).
pub const TICKS_PER_MICRO: u64 = 25;

/// Converts counter ticks to an [`Instant`].
pub const fn ticks_to_instant(ticks: u64) -> Instant {
    Instant::from_micros(ticks / TICKS_PER_MICRO)
}

/// The extension state; `None` until [`start`] (the controller's reset restarts its counter).
static STATE: Mutex<Cell<Option<WrapExtender>>> = Mutex::new(Cell::new(None));

/// Starts the clock at the counter's current value. Called by the board once the controller is
/// out of reset (a reset sets the counter back to zero).
pub(crate) fn start() {
    cortex_m::interrupt::free(|cs| STATE.borrow(cs).set(Some(WrapExtender::new())));
}

/// The time since the network controller was reset (boot, in practice); [`Instant::ZERO`]
/// before the board is initialised.
pub fn now() -> Instant {
    cortex_m::interrupt::free(|cs| {
        let cell = STATE.borrow(cs);
        let Some(mut extender) = cell.get() else {
            return Instant::ZERO;
        };
        let ticks = extender.extend(Regs::mps2_an386().free_run());
        cell.set(Some(extender));
        ticks_to_instant(ticks)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_become_microseconds() {
        assert_eq!(ticks_to_instant(25).total_micros(), 1);
        assert_eq!(ticks_to_instant(25_000_000).total_millis(), 1000);
        assert_eq!(
            ticks_to_instant(u64::from(u32::MAX)).total_micros(),
            171_798_691
        );
    }
}
