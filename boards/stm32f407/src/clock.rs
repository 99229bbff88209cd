//! The board's monotonic clock: TIM2, a 32-bit timer, free-running at 1 MHz and extended to
//! 64 bits across wraps.
//!
//! Why TIM2 and not embassy-time: the stack's poll API needs no executor and no timer queue,
//! only "what time is it", so a counter read is all it takes; embassy-time would add a time
//! driver with its own interrupt and alarm bookkeeping. Why not the core's cycle counter
//! (DWT): it stops while the core sleeps in WFI, and TIM2 does not.
//!
//! The counter wraps every 2^32 µs ≈ 71.6 minutes. [`Clock::now`] notices a wrap when a
//! reading is smaller than the previous one, so it must be called at least once per wrap
//! period; a main loop calls it at every poll, and the board never sleeps longer than
//! [`MAX_SLEEP`](crate::MAX_SLEEP).

use embassy_stm32::Peri;
use embassy_stm32::peripherals::TIM2;
use embassy_stm32::time::Hertz;
use embassy_stm32::timer::low_level::Timer;
use stack_runtime::Instant;
use stack_runtime::time::WrapExtender;

/// The counter's rate: one tick per microsecond.
pub const TICK_HZ: u32 = 1_000_000;

/// TIM2 counting microseconds since [`Clock::start`].
pub struct Clock {
    timer: Timer<'static, TIM2>,
    extender: WrapExtender,
}

impl core::fmt::Debug for Clock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Clock")
            .field("extender", &self.extender)
            .finish_non_exhaustive()
    }
}

impl Clock {
    /// Enables and resets TIM2, sets its prescaler for 1 MHz (from the 84 MHz APB1 timer
    /// clock) and its reload to the full 32 bits, and starts it from zero.
    pub fn start(tim2: Peri<'static, TIM2>) -> Clock {
        let mut timer = Timer::new(tim2);
        timer.set_tick_freq(Hertz(TICK_HZ));
        timer.set_max_compare_value(u32::MAX);
        timer.reset();
        timer.start();
        Clock {
            timer,
            extender: WrapExtender::new(),
        }
    }

    /// The time since [`Clock::start`] (boot, in practice), in whole microseconds.
    pub fn now(&mut self) -> Instant {
        let raw = self.timer.regs_gp32().cnt().read();
        Instant::from_micros(self.extender.extend(raw))
    }
}
