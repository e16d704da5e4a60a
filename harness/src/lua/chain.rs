//! Several Lua scripts as several Lua filters in one filter chain, as Envoy runs them and as
//! [`crate::wasm::chain`] runs modules: the request phase in order, each script seeing the
//! request headers as the ones before it left them; the response phase in reverse order. A
//! `respond()` stops the later scripts' `envoy_on_request`, but its reply goes through every
//! script's `envoy_on_response`, the later ones' too: Envoy sends a local reply through the
//! whole encoder chain, and a Lua filter's response function runs whether or not its request
//! function did (observed in Envoy 1.40: `cli/tests/migrate.rs`, two scripts). Modules differ
//! there: proxy-wasm-cpp-host skips a plugin that never saw the request ([`crate::wasm::chain`],
//! docs/envoy.md §4). One script alone is a chain of one ([`LuaWorker::exchange`]). Each script
//! has its own Lua state, as each Envoy Lua filter has.

use super::{InFlight, LuaWorker};
use crate::clock::Clock;
use crate::exchange::{Exchange, Outcome, ResponsePhase};

/// One worker's Lua filters, in filter-chain order.
#[derive(Debug)]
pub struct LuaChain {
    workers: Vec<LuaWorker>,
    clock: Clock,
}

impl LuaChain {
    /// Loads each script into its own state; in a chain of several, an error names the
    /// script's place.
    pub fn start(sources: &[&str], clock: &Clock) -> Result<Self, String> {
        let several = sources.len() > 1;
        let workers = sources
            .iter()
            .enumerate()
            .map(|(i, source)| {
                LuaWorker::start(source, clock).map_err(|e| match several {
                    true => format!("Lua filter {i}: {e}"),
                    false => e,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            workers,
            clock: clock.clone(),
        })
    }

    /// Runs one request/response through every script.
    pub fn exchange(&mut self, exchange: &Exchange) -> Outcome {
        play(&self.workers, &self.clock, exchange)
    }
}

/// One exchange through `workers` in chain order.
pub(super) fn play(workers: &[LuaWorker], clock: &Clock, exchange: &Exchange) -> Outcome {
    let mut logs = Vec::new();
    let mut headers = exchange.request_headers.clone();
    let mut local_reply = None;
    let mut flights: Vec<InFlight> = Vec::new();
    for worker in workers {
        let flight = worker.begin(exchange, headers);
        let (after, reply) = worker.request_phase(&flight);
        logs.extend(flight.take_logs());
        headers = after;
        local_reply = reply;
        flights.push(flight);
        if local_reply.is_some() {
            break;
        }
    }
    // The scripts after a `respond()`: their request functions never ran, their response
    // functions will.
    for worker in workers.iter().skip(flights.len()) {
        flights.push(worker.begin(exchange, headers.clone()));
    }
    let (mut phase, mut map) = ResponsePhase::start(local_reply, exchange, &headers, clock);
    for (worker, flight) in workers.iter().zip(&flights).rev() {
        map = worker.response_phase(flight, map, phase.body_mut());
        logs.extend(flight.take_logs());
    }
    phase.finish(map, logs)
}
