//! Several modules as several plugins in one filter chain, as Envoy runs them
//! (docs/envoy.md §3): the request phase in order, each filter seeing the request headers as the
//! ones before it left them; a local reply stops the later filters and passes back through the
//! filter that sent it and the ones before it; the response phase in reverse order. One
//! module alone is a chain of one ([`WasmWorker::exchange`]).

use super::{trap_outcome, Plugin, Process, StartError, WasmModule, WasmWorker};
use crate::clock::Clock;
use crate::exchange::{Exchange, Outcome, ResponsePhase};
use std::cell::RefCell;
use std::rc::Rc;

/// One worker's plugins, in filter-chain order.
#[derive(Debug)]
pub struct WasmChain {
    workers: Vec<WasmWorker>,
    clock: Clock,
}

impl WasmChain {
    /// Starts each (module, plugin) on this worker; in a chain of several, an error names the
    /// plugin's place.
    pub fn start(
        members: &[(&WasmModule, Plugin)],
        process: &Rc<RefCell<Process>>,
        clock: &Clock,
    ) -> Result<Self, StartError> {
        let several = members.len() > 1;
        let workers = members
            .iter()
            .enumerate()
            .map(|(i, (module, plugin))| {
                WasmWorker::start(module, process, clock, plugin).map_err(|e| match several {
                    true => StartError {
                        reason: format!("plugin {i} ({:?}): {}", plugin.root_id, e.reason),
                        logs: e.logs,
                    },
                    false => e,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            workers,
            clock: clock.clone(),
        })
    }

    /// Runs one request/response through every plugin.
    pub fn exchange(&mut self, exchange: &Exchange) -> Outcome {
        play(&mut self.workers, &self.clock, exchange)
    }

    /// Logs written outside any exchange (at start-up), taken, in chain order.
    pub fn take_logs(&mut self) -> Vec<crate::exchange::LogLine> {
        self.workers
            .iter_mut()
            .flat_map(WasmWorker::take_logs)
            .collect()
    }
}

/// One exchange through `workers` in chain order. A trap in any of them is Envoy's 503 (the
/// fail-closed VM), with every line logged up to it.
pub(super) fn play(workers: &mut [WasmWorker], clock: &Clock, exchange: &Exchange) -> Outcome {
    let mut logs = Vec::new();
    let mut headers = exchange.request_headers.clone();
    let mut local_reply = None;
    let mut reached = 0;
    for worker in workers.iter_mut() {
        reached += 1;
        match worker.request_phase(exchange, headers) {
            Ok(reply) => local_reply = reply,
            Err(last) => {
                logs.extend(last);
                return trap_outcome(logs);
            }
        }
        logs.extend(worker.take_logs());
        headers = worker.take_request_headers();
        if local_reply.is_some() {
            break;
        }
    }
    let (mut phase, mut map) = ResponsePhase::start(local_reply, exchange, &headers, clock);
    for worker in workers.iter_mut().take(reached).rev() {
        match worker.response_phase(map, phase.body_mut()) {
            Ok(after) => map = after,
            Err(last) => {
                logs.extend(last);
                return trap_outcome(logs);
            }
        }
        logs.extend(worker.take_logs());
    }
    phase.finish(map, logs)
}
