"""The public results portal: what a person without an account may read of published results."""
