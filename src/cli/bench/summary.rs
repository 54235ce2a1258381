//! What `udp-lab bench` makes of a contender's repetitions: a [`Summary`]
//! of medians and the spread of the rate. Medians, because one repetition
//! disturbed by the machine should not move the figure the report shows.

use std::time::Duration;

use udp_lab::lab::load::{Latency, Measurement};

/// The median of `values` (sorted here; the mean of the middle two when
/// even); 0 when empty.
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// One contender's runs, summarised by medians and the spread of the rate.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The contender's name (`batch`, `bare`, `python-threading`, an address).
    pub name: String,
    /// Every repetition, in the order run.
    pub runs: Vec<Measurement>,
}

impl Summary {
    /// One figure of every repetition, in the order run.
    fn each(&self, f: impl Fn(&Measurement) -> f64) -> Vec<f64> {
        self.runs.iter().map(f).collect()
    }

    /// The median requests/s over the repetitions.
    pub fn rate(&self) -> f64 {
        median(&mut self.each(Measurement::rate))
    }

    /// The lowest and highest requests/s of a repetition.
    pub fn rate_range(&self) -> (f64, f64) {
        let rates = self.each(Measurement::rate);
        let low = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let high = rates.iter().copied().fold(0.0, f64::max);
        (if low.is_finite() { low } else { 0.0 }, high)
    }

    /// The median over the repetitions of one latency figure.
    pub fn latency(&self, pick: impl Fn(&Latency) -> Duration) -> Duration {
        let secs = median(&mut self.each(|m| pick(&m.latency).as_secs_f64()));
        Duration::from_secs_f64(secs)
    }

    /// The median server CPU time per request over the repetitions that
    /// measured it, or `None` when none did.
    pub fn server_cpu_per_request(&self) -> Option<Duration> {
        let mut micros: Vec<f64> = self
            .runs
            .iter()
            .filter_map(Measurement::server_cpu_per_request)
            .map(|d| d.as_secs_f64())
            .collect();
        (!micros.is_empty()).then(|| Duration::from_secs_f64(median(&mut micros)))
    }

    /// Requests answered in all repetitions.
    pub fn requests(&self) -> u64 {
        self.runs.iter().map(|m| m.requests).sum()
    }

    /// Timeouts and wrong replies in all repetitions.
    pub fn failures(&self) -> u64 {
        self.runs.iter().map(Measurement::failures).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn the_median_of_an_odd_count_is_the_middle_value() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
