"""Sealed bids (issue #21): commitments a bidder computes and signs, TenderRegistry on chain."""
