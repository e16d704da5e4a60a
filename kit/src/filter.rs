//! The one trait a filter implements, and its object-safe form for modules that hold several
//! filters (the bundle).

use alloc::boxed::Box;
use alloc::string::String;
use core::any::Any;

/// What a header callback tells Envoy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run the next filter.
    Continue = 0,
    /// Stop here (after a local reply).
    Pause = 1,
}

/// The header phases Envoy enters a module for: what its exports are. A filter in its own module
/// is entered only for the phases it exports; a filter linked into the bundle is entered for
/// both, whatever it uses. `member` is the filter's place in a pipeline (`filters[i]`), when it
/// runs in one: two members of one plugin keep their state apart by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phases {
    pub request: bool,
    pub response: bool,
    /// Whether the module exports `proxy_on_response_body`: only then can a filter replace a
    /// response body ([`crate::body`]).
    pub response_body: bool,
    pub member: Option<usize>,
}

impl Phases {
    /// Both header phases (the bundle's exports), not in a pipeline.
    pub const BOTH: Phases = Phases {
        request: true,
        response: true,
        response_body: false,
        member: None,
    };

    /// Only the response phase (a module exporting only the response callback).
    pub const RESPONSE: Phases = Phases {
        request: false,
        response: true,
        response_body: false,
        member: None,
    };
}

/// A filter: its configuration, and the phases it uses. A phase the filter does not export (see
/// [`export_filter!`](crate::export_filter)) is never entered, so its default is never run.
pub trait Filter: Sized + 'static {
    /// The filter's name, as it appears in log lines (`timestamp-header: ...`).
    const NAME: &'static str;

    /// The filter's version, in the line that says its configuration was accepted: its crate's
    /// (`env!("CARGO_PKG_VERSION")`), the workspace's by default.
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    /// The name its configuration counters carry (`moonshift.<name>.config_accepted`, and
    /// `config_refused`): the filter's own. A module holding several filters (the bundle)
    /// names the one its plugin's `root_id` picks, so that each plugin's load can be told apart.
    fn counted_as(_root_id: &[u8]) -> String {
        String::from(Self::NAME)
    }

    /// Per-stream state; `()` for a stateless filter. Kept from the request phase to the
    /// response phase only for a filter exported with `per_stream` (see `dispatch`).
    type Stream: Default + 'static;

    /// Builds the plugin from its configuration bytes (`None`: no configuration). Runs in
    /// `proxy_on_configure`, on every worker's VM; an error refuses the plugin.
    fn configure(config: Option<&[u8]>) -> Result<Self, String>;

    /// [`Filter::configure`], knowing which phases the module is entered for. A filter whose
    /// configuration can ask for more than its own module's exports (response-decorator's
    /// conditions on the request's path, which need the request phase) overrides it; by default
    /// it is `configure`.
    fn configure_in(config: Option<&[u8]>, _module: Phases) -> Result<Self, String> {
        Self::configure(config)
    }

    fn on_request_headers(&self, _stream: &mut Self::Stream) -> Action {
        Action::Continue
    }

    /// Runs on upstream responses and on local replies alike.
    fn on_response_headers(&self, _stream: &mut Self::Stream) -> Action {
        Action::Continue
    }

    /// Whether the response phase needs what the request phase left in `stream`. Only then does
    /// a `per_stream` module keep it in its table of streams in flight (an insertion and a
    /// removal); otherwise the response phase gets `Stream::default()`. By default, state that
    /// takes no room (`()`) is not kept and any other state is.
    fn keeps(&self, _stream: &Self::Stream) -> bool {
        core::mem::size_of::<Self::Stream>() != 0
    }
}

/// A [`Filter`] behind a pointer, its stream state type-erased: what a module holding several
/// filters (the bundle, its pipeline) calls. Each phase runs on state kept on the stack; only a
/// state the response phase needs ([`Filter::keeps`]) is boxed, so a filter that keeps nothing
/// costs no allocation.
pub trait DynFilter {
    fn name(&self) -> &'static str;
    /// The request phase on fresh state, and that state, boxed, if the response phase needs it.
    fn request(&self) -> (Action, Option<Box<dyn Any>>);
    /// The response phase on the state the request phase kept, or on fresh state (`None`, or a
    /// state of another filter).
    fn response(&self, kept: Option<&mut Box<dyn Any>>) -> Action;
}

impl<F: Filter> DynFilter for F {
    fn name(&self) -> &'static str {
        F::NAME
    }

    fn request(&self) -> (Action, Option<Box<dyn Any>>) {
        let mut state = F::Stream::default();
        let action = Filter::on_request_headers(self, &mut state);
        let kept = Filter::keeps(self, &state).then(|| Box::new(state) as Box<dyn Any>);
        (action, kept)
    }

    fn response(&self, kept: Option<&mut Box<dyn Any>>) -> Action {
        match kept.and_then(|state| state.downcast_mut::<F::Stream>()) {
            Some(state) => Filter::on_response_headers(self, state),
            None => Filter::on_response_headers(self, &mut F::Stream::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Stateless;
    struct Stateful;

    impl Filter for Stateless {
        const NAME: &'static str = "stateless";
        type Stream = ();
        fn configure(_: Option<&[u8]>) -> Result<Self, String> {
            Ok(Self)
        }
    }

    impl Filter for Stateful {
        const NAME: &'static str = "stateful";
        type Stream = u32;
        fn configure(_: Option<&[u8]>) -> Result<Self, String> {
            Ok(Self)
        }
    }

    #[test]
    fn state_that_takes_no_room_is_not_kept_by_default() {
        assert!(!Filter::keeps(&Stateless, &()));
        assert!(Filter::keeps(&Stateful, &7));
        // The same through the type-erased form the bundle uses: only state kept is boxed.
        let (stateless, stateful): (&dyn DynFilter, &dyn DynFilter) = (&Stateless, &Stateful);
        assert!(stateless.request().1.is_none());
        let (action, kept) = stateful.request();
        assert_eq!(action, Action::Continue);
        assert_eq!(
            kept.and_then(|k| k.downcast::<u32>().ok()).as_deref(),
            Some(&0)
        );
    }

    /// A filter that counts its phases in its state: the response phase sees what the request
    /// phase kept, fresh state without it, and fresh state for a state of another type.
    #[test]
    fn the_response_phase_sees_the_state_the_request_phase_kept() {
        struct Counting;
        impl Filter for Counting {
            const NAME: &'static str = "counting";
            type Stream = u32;
            fn configure(_: Option<&[u8]>) -> Result<Self, String> {
                Ok(Self)
            }
            fn on_request_headers(&self, stream: &mut u32) -> Action {
                *stream += 1;
                Action::Continue
            }
            fn on_response_headers(&self, stream: &mut u32) -> Action {
                // Pause when the request phase's count reached here.
                match *stream {
                    1 => Action::Pause,
                    _ => Action::Continue,
                }
            }
        }
        let filter: &dyn DynFilter = &Counting;
        let (_, mut kept) = filter.request();
        assert_eq!(filter.response(kept.as_mut()), Action::Pause);
        assert_eq!(filter.response(None), Action::Continue);
        let mut other: Box<dyn Any> = Box::new("not a u32");
        assert_eq!(filter.response(Some(&mut other)), Action::Continue);
    }
}
