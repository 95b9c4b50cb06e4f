"""The billing context's SQL adapters: wallets, the ledger and usage events (``ledger``),
the pricing catalog and quotas (``catalog``), reservations, invoices and legacy credits
(``records``), the posting port (``posting``) and multi-row inserts (``bulk``)."""
