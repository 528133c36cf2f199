"""Where the digest and the calendar feed are published as files."""
