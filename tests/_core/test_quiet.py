"""`ignoring` silences warnings across threads and leaves the process's filters exactly as it found them."""

from __future__ import annotations

import threading
import warnings

import pytest

from seglab._core.quiet import ignoring


def _interleave(context, category) -> None:
    """Thread A enters, B enters, A leaves, B leaves: the order that breaks ``catch_warnings``."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def first():
        with context(category):
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def second():
        a_in.wait(5)
        with context(category):
            b_in.set()
            a_out.wait(5)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)


def _catch_warnings_ignoring(category):
    class _Context:
        def __enter__(self):
            self.inner = warnings.catch_warnings()
            self.inner.__enter__()
            warnings.simplefilter("ignore", category)

        def __exit__(self, *exc):
            return self.inner.__exit__(*exc)

    return _Context()


def test_catch_warnings_interleaved_leaks_an_ignore_filter():
    """The flaw `ignoring` exists for: after the interleaving the process still ignores the category."""
    before = list(warnings.filters)
    try:
        _interleave(_catch_warnings_ignoring, UserWarning)
        assert len(warnings.filters) == len(before) + 1
        assert warnings.filters[0][:3] == ("ignore", None, UserWarning)
    finally:
        warnings.filters[:] = before
        warnings._filters_mutated()


def test_ignoring_interleaved_leaves_filters_as_found():
    before = list(warnings.filters)
    _interleave(ignoring, UserWarning)
    assert warnings.filters == before
    with pytest.warns(UserWarning, match="still seen"):
        warnings.warn("still seen", UserWarning, stacklevel=1)


def test_ignoring_silences_inside_and_only_the_category():
    with ignoring(UserWarning):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default", DeprecationWarning)  # a nested catch_warnings keeps our entry
            warnings.warn("hidden", UserWarning, stacklevel=1)
            warnings.warn("shown", DeprecationWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["shown"]


def test_ignoring_nested_same_thread_and_user_filter_kept():
    before = list(warnings.filters)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)  # the user's own, equal in value to ours
        users = list(warnings.filters)
        with ignoring(RuntimeWarning):
            with ignoring(RuntimeWarning):
                assert sum(f[2] is RuntimeWarning for f in warnings.filters) == 2
            assert sum(f[2] is RuntimeWarning for f in warnings.filters) == 2
        assert warnings.filters == users  # the user's equal filter is still there
    assert warnings.filters == before


def test_ignoring_removes_an_entry_put_back_by_another_threads_catch_warnings():
    """A catch_warnings entered while ours was active restores a list holding our entry; the next exit cleans it."""
    before = list(warnings.filters)
    saved = warnings.catch_warnings()
    with ignoring(UserWarning):
        saved.__enter__()  # snapshot taken with our entry inside
    saved.__exit__(None, None, None)  # puts the snapshot (with our entry) back after we left
    assert warnings.filters[0][2] is UserWarning
    with ignoring(UserWarning):
        pass
    assert warnings.filters == before
