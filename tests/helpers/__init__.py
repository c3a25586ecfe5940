"""What the tests share: fixtures' building blocks (``support``), simulated crashes
(``crashes``), board and mirror checks, the dashboard's browser session."""
