// An executable's sources; its code comes from the libraries it links.
