"""Cross-chain (issue 22): sub-chains registered on a main chain and checkpointed into it."""
