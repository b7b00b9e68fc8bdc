// Package timeseries records the calls of a run second by second and draws
// them: a Recorder buckets each call's outcome and latency by the whole
// second since the run started, together with the balancing strategy in
// use and the fault windows, and WriteCSV and WriteSVG turn its Seconds
// into a table and a chart. The soak example uses it to show what each
// fault did to the call rate, the errors and the tail latency, and how long
// the rate took to recover.
//
// Latencies are not kept one by one: each second has a fixed-size
// histogram (see Resolution), so a Recorder costs a few kilobytes per
// second of run however many calls it sees. Importing the package
// registers nothing.
package timeseries
