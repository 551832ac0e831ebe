"""The demo's job-layer parts: the macro step (``jobs.demo.macro``) and the demo's config model
(``jobs.demo.config``). The demo itself (its steps, their order and the loop) is orchestrated by the CLI:
``covary/cli/demo_steps.py``; ``covary job run demo`` and ``covary job submit demo`` run it there."""
