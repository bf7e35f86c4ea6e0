# nvo::wire must have been found without Abseil and must link nothing.
if(TARGET absl::status)
  message(FATAL_ERROR "Abseil was loaded for nvo::wire")
endif()
get_target_property(_nvo_wire_links nvo::wire INTERFACE_LINK_LIBRARIES)
if(_nvo_wire_links)
  message(FATAL_ERROR "nvo::wire links ${_nvo_wire_links}; it must need nothing")
endif()
