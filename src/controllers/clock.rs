//! Conversions between the caller's clock and API timestamps.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// `now` as an API timestamp. The API serialises whole seconds, so a finer value would
/// never compare equal to what comes back from the store and would look like a change.
pub fn stamp(now: Timestamp) -> Time {
    Time(Timestamp::from_second(now.as_second()).unwrap_or(now))
}

/// Whole seconds since the epoch.
pub fn secs(t: &Time) -> i64 {
    t.0.as_second()
}
