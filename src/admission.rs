//! Arrivals take turns: when a restart or a Wi-Fi blip drops every socket at once, all
//! of them come back within seconds, each authenticating and reopening its room.
//!
//! Let in all at once, every query of every arrival waits behind every other one's, so
//! none finishes quickly, pool acquisitions time out, the work already done for those is
//! thrown away and the clients come back again. Admitted a few at a time instead, each
//! arrival runs at the database's pace and the rest wait in arrival order, costing
//! nothing meanwhile: the same number of arrivals per second, none wasted, the first
//! ones served first. A wait longer than the bound answers `server_busy`.

use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::{AppError, AppResult};

pub struct Admission {
    turns: Semaphore,
    longest_wait: Duration,
}

impl Admission {
    /// At most `at_once` arrivals run together; one waits at most `longest_wait`.
    pub fn new(at_once: usize, longest_wait: Duration) -> Self {
        Admission { turns: Semaphore::new(at_once.max(1)), longest_wait }
    }

    /// Waits for this arrival's turn (first come, first served); it lasts while the
    /// permit is held.
    pub async fn turn(&self) -> AppResult<SemaphorePermit<'_>> {
        match tokio::time::timeout(self.longest_wait, self.turns.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            // Timed out, or closed (never: nothing closes it).
            _ => Err(AppError::Busy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn arrivals_beyond_the_limit_wait_their_turn_in_order_then_give_up() {
        let admission = Admission::new(2, Duration::from_secs(20));
        let first = admission.turn().await.unwrap();
        let _second = admission.turn().await.unwrap();

        // A third waits while both turns are taken, and goes once one ends.
        let third = admission.turn();
        tokio::pin!(third);
        assert!(tokio::time::timeout(Duration::from_secs(5), &mut third).await.is_err());
        drop(first);
        let third = third.await.unwrap();

        // With both taken for longer than the bound, the next is told the server is busy.
        let gave_up = admission.turn().await.err().unwrap();
        assert_eq!(gave_up.code(), "server_busy");
        assert_eq!(gave_up.retry_after(), Some(1));
        drop(third);
        assert!(admission.turn().await.is_ok());
    }
}
