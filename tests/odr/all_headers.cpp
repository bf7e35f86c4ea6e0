// Preprocessed (not compiled) once per flag set: the nvo lines must be the same.
#include "nvo/nvo.hpp"
