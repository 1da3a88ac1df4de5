"""The rules of Tollgate: auth, billing, routing, relaying. Services compose the repositories in models/."""
