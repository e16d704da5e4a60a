//! The one trait a filter implements, and its object-safe form for modules that hold several
//! filters (the bundle).

use std::any::Any;

/// What a header callback tells Envoy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run the next filter.
    Continue = 0,
    /// Stop here (after a local reply).
    Pause = 1,
}

/// A filter: its configuration, and the phases it uses. A phase the filter does not export (see
/// [`export_filter!`](crate::export_filter)) is never entered, so its default is never run.
pub trait Filter: Sized + 'static {
    /// The filter's name, as it appears in log lines (`timestamp-header: ...`).
    const NAME: &'static str;

    /// Per-stream state; `()` for a stateless filter. Kept from the request phase to the
    /// response phase only for a filter exported with `per_stream` (see `dispatch`).
    type Stream: Default + 'static;

    /// Builds the plugin from its configuration bytes (`None`: no configuration). Runs in
    /// `proxy_on_configure`, on every worker's VM; an error refuses the plugin.
    fn configure(config: Option<&[u8]>) -> Result<Self, String>;

    fn on_request_headers(&self, _stream: &mut Self::Stream) -> Action {
        Action::Continue
    }

    /// Runs on upstream responses and on local replies alike.
    fn on_response_headers(&self, _stream: &mut Self::Stream) -> Action {
        Action::Continue
    }
}

/// A [`Filter`] behind a pointer, its stream state type-erased.
pub trait DynFilter {
    fn name(&self) -> &'static str;
    fn new_stream(&self) -> Box<dyn Any>;
    fn on_request_headers(&self, stream: &mut dyn Any) -> Action;
    fn on_response_headers(&self, stream: &mut dyn Any) -> Action;
}

impl<F: Filter> DynFilter for F {
    fn name(&self) -> &'static str {
        F::NAME
    }

    /// A stateless filter's `()` is zero-sized: its box allocates nothing.
    fn new_stream(&self) -> Box<dyn Any> {
        Box::<F::Stream>::default()
    }

    fn on_request_headers(&self, stream: &mut dyn Any) -> Action {
        match stream.downcast_mut::<F::Stream>() {
            Some(stream) => Filter::on_request_headers(self, stream),
            None => Action::Continue,
        }
    }

    fn on_response_headers(&self, stream: &mut dyn Any) -> Action {
        match stream.downcast_mut::<F::Stream>() {
            Some(stream) => Filter::on_response_headers(self, stream),
            None => Action::Continue,
        }
    }
}
