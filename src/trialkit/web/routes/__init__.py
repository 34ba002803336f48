"""The routes: sign-in and session (:mod:`.auth`), home and the status matrix (:mod:`.home`),
the participant page and its lifecycle actions (:mod:`.participants`)."""
