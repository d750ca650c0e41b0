//! Moving a recorded incident in time, so it can be replayed as if it were happening now
//! (the demo fires a live alert and analyses "the last minutes" of a 2023 recording).

use super::Dataset;

impl Dataset {
    /// Adds `by` to every timestamp: samples, log entries, spans, the recording's range.
    /// Relative timing, ordering and values are untouched, so every query answers the
    /// same as before, `by` later.
    pub fn shift(&mut self, by: chrono::Duration) {
        let ms = by.num_milliseconds();
        let us = ms * 1_000;
        let ns = us * 1_000;
        for series in &mut self.metrics.series {
            series.ts.iter_mut().for_each(|t| *t += ms);
        }
        self.metrics.bounds = self.metrics.bounds.map(|(a, b)| (a + ms, b + ms));
        for stream in &mut self.logs.streams {
            stream.ts.iter_mut().for_each(|t| *t += ns);
        }
        self.logs.bounds = self.logs.bounds.map(|(a, b)| (a + ns, b + ns));
        for span in &mut self.traces.spans {
            span.start_us += us;
        }
        self.meta.start += by;
        self.meta.end += by;
    }
}
