"""E-licences (电子证照, issue 20): W3C Verifiable Credentials with salted, Merkle-committed
claims, signed by the issuing department's key, disclosed field by field by the holder."""
